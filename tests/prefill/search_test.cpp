// KVR-S: the search finds the optimum of an exhaustive enumeration at its granularity, and its
// result does not depend on the thread count.
#include <algorithm>

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
    Duration best = Duration::max();
    for (const Partition& x : grid_partitions(c.context, c.p, 64)) {
      best = std::min(best, q.evaluate(x));
    }
    SearchOptions o;
    o.coarse_candidates = 8;  // force a coarse grid well above the granularity
    const SearchResult r = search_partition(q, o);
    EXPECT_EQ(r.ttft, best) << "p " << c.p << ", C " << c.context << ", " << c.bandwidth;
    EXPECT_EQ(r.ttft, q.evaluate(r.best));
    EXPECT_GT(r.coarse_step, 64);
    EXPECT_LT(r.evaluations.size(), grid_partitions(c.context, c.p, 64).size() + 1);
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

TEST(Search, ShortContextsShrinkTheGranularity) {
  testing::Fixture f("llama-2-7b", net::testing::full_mesh(4, 10e9, Duration(1000)), 100);
  const KvrStrategy kvr = even_kvr();
  const SearchResult r = search_partition(query_for(f.setup, kvr), SearchOptions{});
  EXPECT_LT(r.granularity, 64);
  check_partition(r.best, 100, 4);
}

}  // namespace kvsim::prefill
