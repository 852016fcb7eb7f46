// kvsim plan: screening, ranking, the chosen layout re-run, and determinism across threads.
#include <filesystem>

#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include "sim/scenario/scenario.hpp"
#include "sim/serving/engine.hpp"
#include "tests/plan/plan_fixture.hpp"

namespace kvsim::plan {
namespace {

using test::chat_plan;
using test::run;

Json serve_summary(const ConfigDocument& doc) {
  const Scenario s = load_scenario(doc);
  const ConfigNode node = doc.root().at("serving");
  serving::ServingSetup setup = serving::ServingSetup::from_config(node, s);
  serving::Workload workload(node.at("workload"), RandomStreams(s.seed), s.model.max_context);
  return serving::simulate_serving(s, setup, std::move(workload)).summary;
}

TEST(Plan, EveryShippedPlanLoads) {
  std::size_t count = 0;
  const std::string dir = std::string(KVSIM_SOURCE_DIR) + "/scenarios/plan";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    EXPECT_NO_THROW(load_plan(ConfigDocument::load_file(entry.path().string()))) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 4u);
}

TEST(Plan, CandidatesAreTheGridProductLastAxisFastest) {
  const PlanSpec spec = load_plan(test::plan_document(chat_plan()));
  // 1 model x 2 GPUs x 2 tp x 1 pp x 3 replicas (other axes one value each) = 12.
  ASSERT_EQ(spec.candidate_count(), 12u);
  EXPECT_EQ(candidate(spec, 0).gpu.name, "a100-sxm4-80gb");
  EXPECT_EQ(candidate(spec, 1).replicas, 2);
  EXPECT_EQ(candidate(spec, 3).tensor_parallel, 2);
  EXPECT_EQ(candidate(spec, 6).gpu.name, "h100-sxm");
  EXPECT_DOUBLE_EQ(candidate(spec, 7).cost_per_hour(), 2 * 2.69);  // 2 replicas x $2.69
}

TEST(Plan, ScreeningPrunesByConstraintMemoryLayoutAndThroughputBound) {
  Json j = chat_plan();
  j["model"] = "llama-3-70b";  // 141 GB of fp16 weights: one 80 GB GPU cannot hold them
  j["search"] = {{"tensor_parallel", {1, 3, 4}}, {"replicas", {1, 4}}};
  j["constraints"] = {{"max_gpus", 8}};
  j["gpus"] = {"h100-sxm"};
  j["workload"]["arrivals"]["rate"] = "1000/s";
  const PlanSpec spec = load_plan(test::plan_document(j));
  const Screened s = screen_all(spec);
  ASSERT_EQ(s.candidates.size(), 6u);  // tp {1, 3, 4} x replicas {1, 4}
  EXPECT_EQ(s.screenings[0].pruned_kind, "memory");      // tp1 x1: weights do not fit
  EXPECT_EQ(s.screenings[2].pruned_kind, "layout");      // tp3 does not divide 64 heads
  EXPECT_NE(s.screenings[2].reason.find("divide"), std::string::npos);
  EXPECT_EQ(s.screenings[5].pruned_kind, "constraint");  // 4 x tp4 = 16 GPUs > 8
  // tp4 x1 holds the model, but no H100 layout of 4 GPUs serves 1,000 requests/s of
  // ~576 tokens: its compute bound is 4 x 989e12 / (2 x 70.6e9 x 576) ~ 49 requests/s.
  EXPECT_EQ(s.screenings[4].pruned_kind, "throughput");
  EXPECT_LT(s.screenings[4].rate_bound, 60.0);
  EXPECT_TRUE(s.survivors.empty());
}

TEST(Plan, RanksFeasibleLayoutsCheapestFirstAndTheBestMeetsItsSlosWhenReRun) {
  const test::PlanRun r = run(chat_plan());
  ASSERT_FALSE(r.report.ranked.empty());
  const Json& all = r.report.json["candidates"];
  for (std::size_t k = 1; k < r.report.ranked.size(); ++k) {
    EXPECT_LE(all[r.report.ranked[k - 1]]["cost_per_hour"].get<double>(),
              all[r.report.ranked[k]]["cost_per_hour"].get<double>());
  }
  // The best layout, re-run as kvsim serve runs a scenario, at the target and at the highest
  // rate the plan found, meets every SLO.
  const Candidate& best = r.screened.candidates[r.report.ranked.front()];
  EXPECT_TRUE(slo_violations(r.spec, serve_summary(scenario_document(r.spec, best, r.spec.rate)))
                  .empty());
  const double max_rate = all[best.index]["max_rate"].get<double>();
  EXPECT_GE(max_rate, r.spec.rate);
  EXPECT_TRUE(
      slo_violations(r.spec, serve_summary(scenario_document(r.spec, best, max_rate))).empty());
  // The search's bracket: hi misses the SLOs (when the bound did not stop it first) and is
  // within the tolerance of lo.
  const Json& bracket = all[best.index]["rate_bracket"];
  if (!bracket[1].is_null()) {
    EXPECT_LE(bracket[1].get<double>(), max_rate * (1 + r.spec.rate_tolerance));
    EXPECT_FALSE(slo_violations(r.spec, serve_summary(scenario_document(
                                            r.spec, best, bracket[1].get<double>())))
                     .empty());
  }
}

TEST(Plan, ParetoFrontierIsCheapestFirstWithFallingLatency) {
  const test::PlanRun r = run(chat_plan());
  const Table& p = r.report.pareto;
  ASSERT_FALSE(p.rows.empty());
  for (std::size_t k = 1; k < p.rows.size(); ++k) {
    EXPECT_LT(std::stod(p.rows[k - 1][4]), std::stod(p.rows[k][4]));  // cost_per_hour
    EXPECT_GT(std::stod(p.rows[k - 1][5]), std::stod(p.rows[k][5]));  // ttft_p99_ms
  }
}

TEST(Plan, OutputsAreByteIdenticalOnOneAndTwoThreads) {
  const auto outputs = [](int threads) {
    const tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                                    static_cast<std::size_t>(threads));
    const test::PlanRun r = run(chat_plan());
    return r.report.json.dump() + r.report.table.csv() + r.report.markdown +
           r.report.pareto.csv();
  };
  EXPECT_EQ(outputs(1), outputs(2));
}

}  // namespace
}  // namespace kvsim::plan
