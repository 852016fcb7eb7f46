// The exact shortcuts of serving's per-sequence loop (issue 20, the 1M-request goal), each
// against what it replaces:
//   - KvMemory::grow's inline shortcut answers as the manager's own grow_to, and leaves the same
//     holdings, for paged (with and without a sliding window) and contiguous memory; paged
//     memory without a window holds whole blocks (grow_to's one-block shortcut);
//   - Totals::count_tokens(n) reaches the counts of n count_token calls;
//   - Totals' max_concurrent_requests, counted in time order, equals the per-second tally.
// (finish() skipping retire_finished when none of the batch finished is checked end to end by
// the golden serving runs, tests/serving/golden, across schedulers and preemption modes.)
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <random>

#include "sim/serving/memory.hpp"
#include "sim/serving/metrics.hpp"

namespace kvsim::serving {
namespace {

std::unique_ptr<KvMemory> make(const Json& j, const KvBudget& b) {
  return kv_memories().create(ConfigDocument(j, "memory.json").root(), b);
}

}  // namespace

TEST(FastPaths, GrowShortcutAnswersAsTheManagerOnRandomGrowth) {
  KvBudget b;
  b.hbm_bytes = 80e9;
  b.fixed_bytes = 20e9;
  b.kv_bytes_per_token = 20e6;  // about 2,700 tokens: memory runs out, growth fails
  b.max_context = 4096;
  KvBudget windowed = b;
  windowed.window = 512;
  windowed.windowed_share = 0.5;
  const std::vector<std::pair<Json, KvBudget>> managers{
      {Json{{"type", "paged"}, {"block_size", 16}}, b},
      {Json{{"type", "paged"}, {"block_size", 7}}, b},
      {Json{{"type", "paged"}, {"block_size", 16}}, windowed},
      {Json{{"type", "contiguous"}, {"max_sequence", 300}}, b},
      {Json{{"type", "contiguous"}, {"max_sequence", 300}}, windowed}};
  std::mt19937_64 rng(11);
  for (const auto& [json, budget] : managers) {
    SCOPED_TRACE(json.dump() + (budget.window > 0 ? " windowed" : ""));
    // The same random walk on two copies: one through grow(), one through grow_to().
    auto fast = make(json, budget);
    auto slow = make(json, budget);
    const bool paged_windowless = json["type"] == "paged" && budget.window == 0;
    const std::int64_t block = json.value("block_size", 1);
    std::vector<Sequence> a(12);
    std::vector<Sequence> c(12);
    for (std::size_t i = 0; i < a.size(); ++i) {
      a[i].request.prompt = c[i].request.prompt = 100;
      a[i].request.output = c[i].request.output = 200;
    }
    std::size_t shortcuts = 0;
    for (int step = 0; step < 20000; ++step) {
      const std::size_t i = rng() % a.size();
      const auto roll = rng() % 100;
      if (roll < 3) {
        fast->release(a[i]);
        slow->release(c[i]);
      } else if (a[i].held == 0) {
        const std::int64_t tokens = 1 + static_cast<std::int64_t>(rng() % 200);
        ASSERT_EQ(fast->admit(a[i], tokens), slow->admit(c[i], tokens));
      } else {
        // Mostly one more token (decode), sometimes a jump or a step back (speculation).
        const std::int64_t base = a[i].held;
        const std::int64_t tokens =
            roll < 80 ? base - static_cast<std::int64_t>(rng() % 20) + 1
                      : std::max<std::int64_t>(1, base + static_cast<std::int64_t>(rng() % 64) - 32);
        if (tokens <= a[i].held) ++shortcuts;
        const bool grew = fast->grow(a[i], tokens);
        ASSERT_EQ(grew, slow->grow_to(c[i], tokens)) << step;
        if (grew && paged_windowless && tokens > base) {
          // Whole blocks: what a token count needs, rounded up (grow_to's one-block shortcut
          // included).
          ASSERT_EQ(a[i].held, (tokens + block - 1) / block * block) << step;
        }
      }
      ASSERT_EQ(a[i].held, c[i].held) << step;
      ASSERT_EQ(fast->held(), slow->held()) << step;
    }
    EXPECT_GT(shortcuts, 1000U);
  }
}

TEST(FastPaths, CountTokensReachesTheCountsOfOneAtATime) {
  std::mt19937_64 rng(5);
  Totals batched;
  Totals single;
  std::int64_t now = 0;
  for (int step = 0; step < 100000; ++step) {
    now += static_cast<std::int64_t>(rng() % 40'000'000);  // up to 40 ms between batches
    const auto n = static_cast<std::int64_t>(rng() % 130);  // 0 to 129 tokens
    batched.count_tokens(now, n);
    for (std::int64_t k = 0; k < n; ++k) single.count_token(now);
    ASSERT_EQ(batched.peak_tokens_per_second, single.peak_tokens_per_second);
    ASSERT_EQ(batched.tokens_this_second, single.tokens_this_second);
    ASSERT_EQ(batched.token_second, single.token_second);
  }
  EXPECT_GT(single.peak_tokens_per_second, 3000);
}

TEST(FastPaths, ConcurrencyCountedInTimeOrderEqualsThePerSecondTally) {
  // max_concurrent_requests counted as requests arrive and complete (memory flat in the run)
  // against the tally vllm bench serve's definition needs: +1 at each request's arrival second,
  // -1 after its completion second, the peak of the running sum over the seconds.
  std::mt19937_64 rng(9);
  for (int run = 0; run < 20; ++run) {
    Totals t;
    std::map<std::int64_t, std::int64_t> change;
    std::multimap<std::int64_t, std::int64_t> pending;  // completion ns -> arrival ns
    std::int64_t now = 0;
    const auto complete_until = [&](std::int64_t until) {
      while (!pending.empty() && pending.begin()->first <= until) {
        const auto [done, arrived] = *pending.begin();
        t.request_completed(done);
        ++change[arrived / 1'000'000'000];
        --change[done / 1'000'000'000 + 1];
        pending.erase(pending.begin());
      }
    };
    for (int i = 0; i < 3000; ++i) {
      now += static_cast<std::int64_t>(rng() % (run % 2 == 0 ? 400'000'000 : 40'000'000));
      complete_until(now);
      t.request_arrived(now);
      pending.emplace(now + static_cast<std::int64_t>(rng() % 20'000'000'000), now);
    }
    complete_until(std::numeric_limits<std::int64_t>::max());
    std::int64_t in_flight = 0, peak = 0;
    for (const auto& [second, c] : change) peak = std::max(peak, in_flight += c);
    ASSERT_EQ(t.max_concurrent_requests(), peak) << run;
    EXPECT_GT(peak, 10);
  }
}

}  // namespace kvsim::serving
