// kvsim run's decode step (sim/serving/decode_step) against kvsim serve: for one request, the
// step that run prices at KV length C is the gap serve leaves between that request's tokens
// when its decode iteration sees KV length C, to the nanosecond, on every layout.
#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "sim/report/breakdown.hpp"
#include "sim/serving/communication.hpp"
#include "sim/serving/decode_step.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::serving {
namespace {

// Llama-2-7B on the calibrated A100 profile, an 8-GPU NVSwitch with the NCCL protocols fitted
// to a DGX-A100 (calibration/profiles/nccl-dgx-a100.json); a "decode" step at `context` KV
// tokens and a "serving" section of one request of `context` - 1 prompt tokens and 3 output
// tokens, both on a replica of tp x pp GPUs. Serve's first decode iteration runs the prompt
// plus the token the prefill sampled: KV length `context`; its second, `context` + 1.
Json scenario_json(int tp, int pp, std::int64_t context) {
  const Json protocols = Json::array(
      {{{"name", "ll128"}, {"step_latency", "580ns"}, {"efficiency", 0.42}},
       {{"name", "simple"}, {"step_latency", "12450ns"}, {"efficiency", 0.779}}});
  return Json{
      {"model", "llama-2-7b"},
      {"cluster",
       {{"gpu", "a100-sxm4-80gb"},
        {"topology", {{"type", "nvswitch"}, {"gpus", 8}}},
        {"collectives", {{"algorithm", "ring"}, {"protocols", protocols}}}}},
      {"compute", {{"type", "calibrated"}, {"profile", "a100-sxm4-80gb"}}},
      {"decode",
       {{"context_tokens", context}, {"tensor_parallel", tp}, {"pipeline_parallel", pp}}},
      {"serving",
       {{"workload",
         {{"requests", 1},
          {"arrivals", {{"type", "burst"}}},
          {"lengths", {{"type", "fixed"}, {"prompt", context - 1}, {"output", 3}}}}},
        {"tensor_parallel", tp},
        {"pipeline_parallel", pp}}}};
}

// The times (ns) at which serve's lone request emits each token.
std::map<std::int64_t, std::int64_t> token_times(const ConfigDocument& doc, const Scenario& s) {
  ServingSetup setup = ServingSetup::from_config(doc.root().at("serving"), s);
  Workload w(doc.root().at("serving").at("workload"), RandomStreams(s.seed), s.model.max_context);
  std::map<std::int64_t, std::int64_t> times;
  ServingObservers observers;
  observers.token = [&times](std::uint64_t, std::int64_t index, double seconds) {
    times[index] = std::llround(seconds * 1e9);  // exact: the observer gets ns x 1e-9
  };
  simulate_serving(s, setup, std::move(w), observers);
  return times;
}

Duration run_step(const Scenario& s, std::int64_t kv) {
  const std::vector<std::int64_t> lengths{kv};
  return decode_step(s, s.decode->tensor_parallel, s.decode->pipeline_parallel, lengths).total;
}

// Serve's gaps between tokens 0-1 and 1-2 are its decode iterations at KV C and C + 1.
void expect_run_equals_serve(int tp, int pp) {
  constexpr std::int64_t kContext = 2048;
  const ConfigDocument doc(scenario_json(tp, pp, kContext), "decode.json");
  const Scenario s = load_scenario(doc);
  const auto t = token_times(doc, s);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.at(1) - t.at(0), run_step(s, kContext).count()) << "tp " << tp << " pp " << pp;
  EXPECT_EQ(t.at(2) - t.at(1), run_step(s, kContext + 1).count()) << "tp " << tp << " pp " << pp;
}

TEST(DecodeStep, EqualsServesTimePerOutputTokenForOneRequestAtEveryTensorParallel) {
  for (const int tp : {1, 2, 4, 8}) expect_run_equals_serve(tp, 1);
}

TEST(DecodeStep, EqualsServesTimePerOutputTokenAcrossPipelineStages) {
  expect_run_equals_serve(1, 2);
  expect_run_equals_serve(2, 2);
  expect_run_equals_serve(2, 4);
}

TEST(DecodeStep, ServesHostOverheadIsTheOnlyDifference) {
  // run's decode section has no host_overhead; serve adds it to every iteration, once, on the
  // first stage: 30 us = 30,000 ns a gap.
  Json j = scenario_json(4, 1, 2048);
  j["serving"]["host_overhead"] = "30us";
  const ConfigDocument doc(j, "decode.json");
  const Scenario s = load_scenario(doc);
  const auto t = token_times(doc, s);
  EXPECT_EQ(t.at(1) - t.at(0), run_step(s, 2048).count() + 30'000);
}

// The per-operation breakdown kvsim run prints, on one GPU's shard.
double shard_breakdown_seconds(const Scenario& s, std::int64_t kv) {
  DecomposeOptions o;
  o.precision = s.precision;
  o.tensor_parallel = s.decode->tensor_parallel;
  return report::decode_breakdown(s.model, *s.compute, o, 1, kv).seconds;
}

TEST(DecodeStep, AtTensorParallelOneIsTheSingleGpuBreakdownWithoutCommunication) {
  const Scenario s = load_scenario(ConfigDocument(scenario_json(1, 1, 4096), "decode.json"));
  const std::vector<std::int64_t> lengths{4096};
  const DecodeStep step = decode_step(s, 1, 1, lengths);
  // The same operations summed in another order, rounded to the nanosecond once: within 1 ns.
  EXPECT_LE(std::abs(static_cast<double>(step.total.count()) -
                     shard_breakdown_seconds(s, 4096) * 1e9),
            1.0);
  EXPECT_EQ(step.communication, Duration{0});
  EXPECT_EQ(step.all_reduces, 0);
  EXPECT_EQ(step.sends, 0);
}

TEST(DecodeStep, TensorParallelAddsTwoAllReducesPerLayerToTheShardsCompute) {
  const ConfigDocument doc(scenario_json(4, 1, 4096), "decode.json");
  const Scenario s = load_scenario(doc);
  const std::vector<std::int64_t> lengths{4096};
  const DecodeStep step = decode_step(s, 4, 1, lengths);
  // Llama-2-7B: attention, then MLP, each ending in an all-reduce: 2 x 32 layers = 64 of one
  // token's hidden state (4096 x 2 B) among GPUs 0-3.
  EXPECT_EQ(step.all_reduces, 64);
  EventQueue q;
  Communication c(s, false, q);
  EXPECT_EQ(step.communication, 64 * c.all_reduce({0, 1, 2, 3}, 1));
  EXPECT_GT(step.communication, Duration{0});
  EXPECT_LE(std::abs(static_cast<double>(step.compute.count()) -
                     shard_breakdown_seconds(s, 4096) * 1e9),
            1.0);
  EXPECT_EQ(step.total, step.compute + step.communication);
}

}  // namespace
}  // namespace kvsim::serving
