// KVR-S: the search finds the optimum of an exhaustive enumeration at its granularity (or the
// even split, when faster), refuses what it cannot do, and its result does not depend on the
// thread count. With a memory capacity it returns the fastest partition that fits, or says
// that none does.
#include <algorithm>
#include <optional>
#include <utility>

#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include "prefill/fixture.hpp"
#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/search.hpp"

namespace kvsim::prefill {
namespace {

PartitionQuery query_for(const PrefillSetup& setup, const KvrStrategy& kvr) {
  PartitionQuery q;
  q.context_tokens = setup.context_tokens;
  q.processes = static_cast<int>(setup.gpus.size());
  q.setup = &setup;
  q.evaluate = [&](const Partition& x) { return kvr.evaluate(setup, x); };
  return q;
}

KvrStrategy even_kvr() {
  static const Json empty = Json::object();
  return KvrStrategy(partitioners().find("even")->make(ConfigNode(&empty, "test", Json::json_pointer())),
                     KvrOptions{});
}

}  // namespace

TEST(Search, GridPartitionsEnumerateEveryCompositionOnTheGrid) {
  // Cuts at multiples of 64 below 256: {64, 128, 192}; two cuts from three: 3 partitions.
  const std::vector<Partition> grid = grid_partitions(256, 3, 64);
  const std::vector<Partition> expected{{64, 64, 128}, {64, 128, 64}, {128, 64, 64}};
  EXPECT_EQ(grid, expected);
  // C = 200 is not a multiple of 64: the last part takes the remainder.
  EXPECT_EQ(grid_partitions(200, 2, 64), (std::vector<Partition>{{64, 136}, {128, 72}, {192, 8}}));
}

TEST(Search, FindsTheExhaustiveOptimumOnSmallCases) {
  const KvrStrategy kvr = even_kvr();
  struct Case {
    int p;
    std::int64_t context;
    double bandwidth;
  };
  for (const Case c : {Case{2, 1024, 10e9}, Case{3, 1024, 300e9}, Case{3, 1024, 2e9},
                       Case{4, 1024, 10e9}, Case{4, 1536, 1e9}}) {
    testing::Fixture f("llama-2-7b", net::testing::full_mesh(c.p, c.bandwidth, Duration(1000)),
                       c.context);
    const PartitionQuery q = query_for(f.setup, kvr);
    // The optimum over the grid and the exact even split (at 3 x 1024 tokens and 300 GB/s the
    // even split 342/341/341 beats every cut on multiples of 64).
    Duration best = q.evaluate(even_partition(c.context, c.p));
    for (const Partition& x : grid_partitions(c.context, c.p, 64)) {
      best = std::min(best, q.evaluate(x));
    }
    SearchOptions o;
    o.coarse_candidates = 8;  // force a coarse grid well above the granularity
    const SearchResult r = search_partition(q, o);
    EXPECT_EQ(r.ttft, best) << "p " << c.p << ", C " << c.context << ", " << c.bandwidth;
    EXPECT_EQ(r.ttft, q.evaluate(r.best));
    EXPECT_GT(r.coarse_step, 64);
    EXPECT_LT(r.evaluations.size(), grid_partitions(c.context, c.p, 64).size() + 2);
  }
}

TEST(Search, EarlierProcessesTakeMoreTokens) {
  // The paper's observation: later processes attend over longer prefixes, so the optimum
  // gives them fewer tokens; on a fast network the search beats the even split.
  testing::Fixture f("llama-2-7b", testing::ideal_network(4), 16384);
  const KvrStrategy kvr = even_kvr();
  const PartitionQuery q = query_for(f.setup, kvr);
  const SearchResult r = search_partition(q, SearchOptions{});
  EXPECT_TRUE(std::is_sorted(r.best.rbegin(), r.best.rend()));
  EXPECT_GT(r.best.front(), r.best.back());
  EXPECT_LT(r.ttft, q.evaluate(even_partition(16384, 4)));
}

TEST(Search, SameResultAndTraceForAnyThreadCount) {
  testing::Fixture f("llama-2-7b", net::testing::full_mesh(8, 10e9, Duration(1000)), 8192);
  const KvrStrategy kvr = even_kvr();
  const PartitionQuery q = query_for(f.setup, kvr);
  SearchResult one;
  {
    tbb::global_control serial(tbb::global_control::max_allowed_parallelism, 1);
    one = search_partition(q, SearchOptions{});
  }
  const SearchResult many = search_partition(q, SearchOptions{});
  EXPECT_EQ(one.best, many.best);
  EXPECT_EQ(one.ttft, many.ttft);
  ASSERT_EQ(one.evaluations.size(), many.evaluations.size());
  for (std::size_t i = 0; i < one.evaluations.size(); ++i) {
    EXPECT_EQ(one.evaluations[i].partition, many.evaluations[i].partition);
    EXPECT_EQ(one.evaluations[i].ttft, many.evaluations[i].ttft);
  }
}

TEST(Search, RefusesAGranularityTooCoarseForTheChainNamingOneThatWorks) {
  // 100 tokens over 4 processes: cuts at multiples of 64 below 100 give one position for the
  // three cuts. The coarsest that works is floor(99 / 3) = 33 (cuts 33, 66, 99).
  EXPECT_EQ(coarsest_granularity(100, 4), 33);
  const std::string why = search_obstacle(SearchOptions{}, 100, 4);
  EXPECT_NE(why.find("granularity 64 leaves 1 cut positions"), std::string::npos) << why;
  EXPECT_NE(why.find("at most 33 tokens"), std::string::npos) << why;
  testing::Fixture f("llama-2-7b", net::testing::full_mesh(4, 10e9, Duration(1000)), 100);
  const KvrStrategy kvr = even_kvr();
  EXPECT_THROW(search_partition(query_for(f.setup, kvr), SearchOptions{}), std::invalid_argument);
  SearchOptions o;
  o.granularity = 33;
  const SearchResult r = search_partition(query_for(f.setup, kvr), o);
  EXPECT_EQ(r.granularity, 33);
  check_partition(r.best, 100, 4);
}

TEST(Search, NeverSlowerThanTheEvenSplitWhenTheGridMissesIt) {
  // The case: Llama-2-7B, 4096 tokens on 8 GPUs at 300 GB/s, granularity 384. Every
  // partition with cuts on multiples of 384 is slower than 512 tokens each (the grid has no cut
  // at 512), so the search must return the even split itself.
  testing::Fixture f("llama-2-7b", net::testing::full_mesh(8, 300e9, Duration(1000)), 4096);
  const KvrStrategy kvr = even_kvr();
  const PartitionQuery q = query_for(f.setup, kvr);
  const Partition even = even_partition(4096, 8);
  Duration grid_best = Duration::max();
  for (const Partition& x : grid_partitions(4096, 8, 384)) grid_best = std::min(grid_best, q.evaluate(x));
  ASSERT_GT(grid_best, q.evaluate(even));
  SearchOptions o;
  o.granularity = 384;
  const SearchResult r = search_partition(q, o);
  EXPECT_EQ(r.best, even);
  EXPECT_EQ(r.ttft, q.evaluate(even));
  EXPECT_EQ(r.evaluations.back().step, 0);  // the off-grid candidate, logged as such
}

TEST(Search, CutPointsAreMultiplesOfTheGranularityAndTheLastPartTakesTheRemainder) {
  // 16000 tokens is no multiple of 96: the cuts are, and the last process takes the rest.
  testing::Fixture f("llama-2-7b", testing::ideal_network(4), 16000);
  const KvrStrategy kvr = even_kvr();
  SearchOptions o;
  o.granularity = 96;
  const SearchResult r = search_partition(query_for(f.setup, kvr), o);
  ASSERT_NE(r.best, even_partition(16000, 4));  // on a free network the grid wins
  std::int64_t cut = 0;
  for (std::size_t i = 0; i + 1 < r.best.size(); ++i) {
    cut += r.best[i];
    EXPECT_EQ(cut % 96, 0) << "cut " << i << " at " << cut;
  }
  check_partition(r.best, 16000, 4);
}

TEST(Search, AddedPartitionsAreCandidatesToo) {
  // A caller's partition (KVR-P's, when it is the comparison) is evaluated beside the grid: a
  // coarse granularity whose best grid point is slower than it returns it.
  testing::Fixture f("llama-2-7b", testing::ideal_network(4), 16384);
  const KvrStrategy kvr = even_kvr();
  const PartitionQuery q = query_for(f.setup, kvr);
  SearchOptions o;
  o.granularity = 4000;
  const Partition fine = search_partition(q, SearchOptions{}).best;  // at 64 tokens
  const SearchResult coarse = search_partition(q, o);
  ASSERT_GT(coarse.ttft, q.evaluate(fine));
  const SearchResult with = search_partition(q, o, {fine});
  EXPECT_EQ(with.best, fine);
}

TEST(Search, GridSizeIsCountedWithoutEnumerating) {
  // C(floor(255/64), 2) = C(3, 2) = 3; C(floor(199/64), 1) = 3.
  EXPECT_EQ(grid_size(256, 3, 64), grid_partitions(256, 3, 64).size());
  EXPECT_EQ(grid_size(200, 2, 64), 3U);
  // 8 GPUs at 4096 tokens and 64: C(63, 7) = 553,270,671 points (tens of GB as partitions).
  EXPECT_EQ(grid_size(4096, 8, 64), 553270671U);
  // C(4095, 7) is about 3.7e21: saturates at 1e18.
  EXPECT_EQ(grid_size(4096, 8, 1), 1'000'000'000'000'000'000U);
}

TEST(Search, RefusesChainsWhoseRefinementRoundsExceedTheLimit) {
  // Moves per round for p processes: sum over w = 1..p-1 of 2 (p-w+1)(p-w) = 2 sum k(k+1) over
  // k = 1..p-1. p = 53: 2 (48,230 + 1,378) = 99,216 <= 100,000; p = 54: 104,940 > 100,000.
  EXPECT_EQ(search_obstacle(SearchOptions{}, 1 << 20, 53), "");
  const std::string why = search_obstacle(SearchOptions{}, 1 << 20, 64);
  EXPECT_NE(why.find("over the limit of 100000; search at most 53 processes"), std::string::npos)
      << why;
}

namespace {

// Llama-2-7B over 2 GPUs of a 300 GB/s mesh, 16384 tokens, eager attention, A100 (80 GiB) at
// memory utilisation `utilization`; the query carries the capacity and KV-Runahead's plan.
struct MemoryCase {
  testing::Fixture f{"llama-2-7b", net::testing::full_mesh(2, 300e9, Duration(1000)), 16384};
  KvrStrategy kvr = even_kvr();
  PartitionQuery q;
  explicit MemoryCase(double utilization) {
    f.setup.options.attention = AttentionImpl::kEager;
    f.setup.memory = MemoryCapacity{"a100", 80.0 * 1024 * 1024 * 1024, utilization};
    q = kvr.query(f.setup);
  }
};

}  // namespace

TEST(Search, ReturnsTheFastestPartitionThatFitsWhenTheOptimumDoesNot) {
  // Usable: 80 GiB x 0.34 = 27.2 GiB per GPU. Unconstrained, the fastest split gives GPU 1
  // ~6700 queries: 12.6 GiB weights + 8 GiB KV (16384 tokens x 512 KiB) + 6700 x 16384 x 32
  // heads x 2 B = 6.5 GiB of scores alone, over 27.2 GiB; shorter GPU-1 shares fit. The test
  // enumerates the whole grid (255 cuts at multiples of 64) and the exact even split.
  const MemoryCase m(0.34);
  PartitionQuery unconstrained = m.q;
  unconstrained.capacity.reset();
  SearchOptions o;
  o.coarse_candidates = 16;  // a coarse grid of 15 points: the refinement has to find it
  o.starts = 1;
  const Partition optimum = search_partition(unconstrained, o).best;
  ASSERT_FALSE(m.q.overflow(optimum).empty()) << "the unconstrained optimum must not fit";

  std::vector<Partition> all = grid_partitions(16384, 2, 64);
  all.push_back(even_partition(16384, 2));
  std::optional<std::pair<Duration, Partition>> best_fitting;
  for (const Partition& x : all) {
    if (!m.q.overflow(x).empty()) continue;
    const std::pair<Duration, Partition> t{m.q.evaluate(x), x};
    if (!best_fitting || t < *best_fitting) best_fitting = t;
  }
  ASSERT_TRUE(best_fitting.has_value()) << "some partition must fit";

  const SearchResult r = search_partition(m.q, o);
  EXPECT_TRUE(r.fits);
  EXPECT_EQ(m.q.overflow(r.best), "");
  EXPECT_EQ(r.best, best_fitting->second);
  EXPECT_EQ(r.ttft, best_fitting->first);
  EXPECT_GT(r.infeasible, 0U);
  for (const SearchEvaluation& e : r.evaluations) {
    EXPECT_EQ(e.fits, m.q.overflow(e.partition).empty());
    if (!e.fits) {
      EXPECT_EQ(e.ttft, Duration{0});  // skipped, not simulated
    }
  }
  // The partitioner returns the same fitting partition.
  EXPECT_EQ(make_search_partitioner(o)->partition(m.q), r.best);
}

TEST(Search, RefusesWhenNoPartitionFitsNamingTheLeastItNeeds) {
  // At 0.30 (24 GiB usable) no split fits: GPU 1 keeps 20.6 GiB of weights and KV, leaving
  // room for ~3000 queries' scores, and GPU 0 then computes >13000 queries (> 10 GiB scores).
  const MemoryCase m(0.30);
  const SearchResult r = search_partition(m.q, SearchOptions{});
  EXPECT_FALSE(r.fits);
  EXPECT_EQ(r.infeasible, r.evaluations.size());
  // The partition it names needs the least of all it evaluated.
  for (const SearchEvaluation& e : r.evaluations) EXPECT_LE(m.q.peak_bytes(r.best), e.peak_bytes);
  try {
    (void)make_search_partitioner(SearchOptions{}, "s.json", "/prefill/strategies/0/partitioner")
        ->partition(m.q);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/prefill/strategies/0/partitioner");
    EXPECT_NE(e.message().find("found no partition that fits in memory"), std::string::npos);
    EXPECT_NE(e.message().find("usable per GPU"), std::string::npos) << e.what();
  }
}

TEST(Search, NeverSlowerThanTheEvenSplitWhenItFits) {
  // From tight (0.34: the even split 8192/8192 gives GPU 0 8192^2 x 32 x 2 B = 4 GiB of scores
  // and does not fit) to roomy (0.9): the result always fits, and wherever KVR-E fits it is at
  // least as fast.
  for (const double utilization : {0.34, 0.36, 0.4, 0.5, 0.9}) {
    const MemoryCase m(utilization);
    const SearchResult r = search_partition(m.q, SearchOptions{});
    ASSERT_TRUE(r.fits) << utilization;
    EXPECT_EQ(m.q.overflow(r.best), "") << utilization;
    const Partition even = even_partition(16384, 2);
    if (m.q.overflow(even).empty()) {
      EXPECT_LE(r.ttft, m.q.evaluate(even)) << utilization;
    }
  }
}

}  // namespace kvsim::prefill
