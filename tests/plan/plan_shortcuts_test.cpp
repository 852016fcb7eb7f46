// kvsim plan's search shortcuts give the answer the full evaluation gives: the rate search
// started from a layout with fewer replicas, and reusing provably equivalent layouts' simulations.
#include <gtest/gtest.h>

#include "tests/plan/plan_fixture.hpp"

namespace kvsim::plan {
namespace {

Json with_shortcuts(Json j, bool estimate, bool reuse) {
  j["shortcuts"] = {{"estimate_from_fewer_replicas", estimate}, {"reuse_equivalent_layouts", reuse}};
  return j;
}

// A verdict without what only says how it was reached.
Json answer(Json v) {
  v.erase("simulations");
  v.erase("same_result_as");
  return v;
}

std::size_t simulations(const test::PlanRun& r) {
  std::size_t n = 0;
  for (const Json& v : r.report.json["candidates"]) {
    if (v.contains("simulations")) n += v["simulations"].get<std::size_t>();
  }
  return n;
}

void expect_same_answers(const test::PlanRun& full, const test::PlanRun& quick) {
  const Json& a = full.report.json["candidates"];
  const Json& b = quick.report.json["candidates"];
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(answer(a[i]), answer(b[i])) << "candidate " << i;
  }
  EXPECT_EQ(full.report.json["ranked"], quick.report.json["ranked"]);
  EXPECT_EQ(full.report.pareto.csv(), quick.report.pareto.csv());
}

// The test chat plan with 2,000 requests (a sustained queue, so that meeting the SLOs falls
// with the rate), KV blocks of 16 and 32 tokens and both preemption modes.
Json equivalent_axes_plan() {
  Json j = test::chat_plan();
  j["workload"]["requests"] = 2000;
  j["search"]["block_size"] = {16, 32};
  j["search"]["preemption"] = {"recompute", "swap"};
  return j;
}

TEST(PlanShortcuts, EstimateFromFewerReplicasGivesTheSameRatesWithFewerSimulations) {
  Json j = test::chat_plan();
  j["workload"]["requests"] = 2000;
  const test::PlanRun full = test::run(with_shortcuts(j, false, false));
  const test::PlanRun quick = test::run(with_shortcuts(j, true, false));
  expect_same_answers(full, quick);
  EXPECT_LT(simulations(quick), simulations(full));
}

TEST(PlanShortcuts, EquivalentLayoutsReuseSimulationsAndGiveTheSameVerdicts) {
  const Json j = equivalent_axes_plan();
  const test::PlanRun full = test::run(with_shortcuts(j, true, false));
  const test::PlanRun quick = test::run(with_shortcuts(j, true, true));
  expect_same_answers(full, quick);
  // Llama-3.2-1B's KV (32 KiB a token) leaves an A100 or H100 room for ~1.8M tokens, far more
  // than 256 sequences of these prompts hold: memory never binds, so the three later layouts of
  // each group of four (block 16/32 x recompute/swap) take every simulation from the first.
  const Json& v = quick.report.json["candidates"];
  std::size_t reused = 0;
  for (const Json& c : v) {
    if (c["status"] == "pruned") continue;
    if (c["block_size"] == 16 && c["preemption"] == "recompute") {
      EXPECT_GT(c["simulations"].get<int>(), 0);
      EXPECT_FALSE(c.contains("same_result_as"));
    } else {
      ++reused;
      EXPECT_EQ(c["simulations"].get<int>(), 0) << c["label"];
      EXPECT_TRUE(c.contains("same_result_as")) << c["label"];
    }
  }
  EXPECT_GT(reused, 0u);
  EXPECT_EQ(4 * simulations(quick), simulations(full));
}

TEST(PlanShortcuts, LayoutsWhoseKvMemoryBindsAreSimulatedThemselves) {
  // 4% of an H100 leaves ~22,000 KV tokens after Llama-3.2-1B's weights and activations: at the
  // rates the search reaches, admissions wait for memory, and 32-token blocks (more rounding)
  // hold fewer sequences than 16-token ones. Such runs must not be shared.
  Json j = equivalent_axes_plan();
  j["gpus"] = {"h100-sxm"};
  j["search"]["tensor_parallel"] = {1};
  j["search"]["replicas"] = {1};
  j["search"]["utilization"] = {0.04};
  const test::PlanRun full = test::run(with_shortcuts(j, true, false));
  const test::PlanRun quick = test::run(with_shortcuts(j, true, true));
  // Candidates: recompute x blocks 16, 32, then swap x blocks 16, 32.
  const Json& f = full.report.json["candidates"];
  ASSERT_EQ(f.size(), 4u);
  ASSERT_EQ(f[0]["status"], "feasible");
  ASSERT_EQ(f[1]["status"], "feasible");
  EXPECT_NE(f[0]["max_rate"], f[1]["max_rate"]);  // the block size changed the answer
  expect_same_answers(full, quick);
  const Json& q = quick.report.json["candidates"];
  EXPECT_GT(q[1]["simulations"].get<int>(), 0);
  EXPECT_FALSE(q[1].contains("same_result_as"));
}

}  // namespace
}  // namespace kvsim::plan
