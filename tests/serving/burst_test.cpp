// Simultaneous arrivals: every registered scheduler sees the whole burst before it forms a
// batch, so equal requests arriving together are prefilled together and share their TTFT.
#include <gtest/gtest.h>

#include "serving/serving_run.hpp"
#include "sim/serving/iteration_cost.hpp"

namespace kvsim::serving {
namespace {

// `n` requests of `prompt` + `output` tokens, all at time 0.
Json burst(int n, std::int64_t prompt, std::int64_t output) {
  return Json{{"requests", n},
              {"arrivals", {{"type", "burst"}}},
              {"lengths", {{"type", "fixed"}, {"prompt", prompt}, {"output", output}}}};
}

}  // namespace

TEST(ServingBurst, EverySchedulerPrefillsASimultaneousBurstInOneBatch) {
  // 8 x 256 = 2,048 prompt tokens fit the 4,096-token budget and the 256-sequence batch, and
  // 8 x 4,096 reserved tokens fit an A100's KV memory, so the first batch holds all 8 prompts:
  // TTFT of each = one iteration prefilling 8 prompts of 256 tokens and sampling 8 tokens.
  ASSERT_GE(schedulers().names().size(), 4u);
  for (const std::string& scheduler : schedulers().names()) {
    ServingRun run(Json{{"workload", burst(8, 256, 4)}, {"scheduler", {{"type", scheduler}}}});
    IterationShape first;
    first.prefills.assign(8, {256, 256});
    first.emitting = 8;
    const double expected = to_seconds(IterationCost(run.scenario, 1).single_gpu(first));
    std::vector<double> ttfts, tpots;
    ServingObservers observers;
    observers.request = [&](const RequestRecord& r) {
      ttfts.push_back(r.first_token - r.arrival);
      tpots.push_back((r.completion - r.first_token) / 3);
    };
    const Json a = run.summary(observers);
    ASSERT_EQ(ttfts.size(), 8u) << scheduler;
    for (std::size_t i = 0; i < 8; ++i) {
      EXPECT_NEAR(ttfts[i], expected, 1e-9) << scheduler << " request " << i;
      // The 8 then decode together, step for step.
      EXPECT_NEAR(tpots[i], tpots[0], 1e-12) << scheduler << " request " << i;
    }
    EXPECT_NEAR(a["ttft"]["max_s"].get<double>(), expected, 1e-9) << scheduler;
  }
}

}  // namespace kvsim::serving
