// Mixture-of-experts models in serving: expert-parallel replicas, run's decode step against
// serve's, the routing skew's straggler, and refusals.
#include <map>

#include <gtest/gtest.h>

#include "sim/serving/decode_step.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::serving {
namespace {

// Mixtral-8x7B on A100-80GB, roofline; one request of `context` - 1 prompt tokens and 3
// output tokens on a replica of tp GPUs (experts split over them when `ep`).
Json scenario_json(int tp, bool ep, std::int64_t context, const Json& load) {
  return Json{
      {"model", "mixtral-8x7b"},
      {"expert_load", load},
      {"cluster", {{"gpu", "a100-sxm4-80gb"}, {"topology", {{"type", "nvswitch"}, {"gpus", 8}}}}},
      {"compute", {{"type", "roofline"}}},
      {"decode",
       {{"context_tokens", context}, {"tensor_parallel", tp}, {"expert_parallel", ep}}},
      {"serving",
       {{"workload",
         {{"requests", 1},
          {"arrivals", {{"type", "burst"}}},
          {"lengths", {{"type", "fixed"}, {"prompt", context - 1}, {"output", 3}}}}},
        {"tensor_parallel", tp},
        {"expert_parallel", ep}}}};
}

const Json kUniform{{"type", "uniform"}};

std::map<std::int64_t, std::int64_t> token_times(const ConfigDocument& doc, const Scenario& s) {
  ServingSetup setup = ServingSetup::from_config(doc.root().at("serving"), s);
  Workload w(doc.root().at("serving").at("workload"), RandomStreams(s.seed), s.model.max_context);
  std::map<std::int64_t, std::int64_t> times;
  ServingObservers observers;
  observers.token = [&times](std::uint64_t, std::int64_t index, double seconds) {
    times[index] = std::llround(seconds * 1e9);
  };
  simulate_serving(s, setup, std::move(w), observers);
  return times;
}

Duration run_step(const Scenario& s, std::int64_t kv) {
  const std::vector<std::int64_t> lengths{kv};
  return decode_step(s, s.decode->tensor_parallel, 1, lengths,
                     static_cast<int>(s.decode->expert_degree()))
      .total;
}

}  // namespace

TEST(MoeServing, RunsDecodeStepEqualsServesForExpertParallelReplicas) {
  for (const bool ep : {false, true}) {
    const ConfigDocument doc(scenario_json(4, ep, 2048, kUniform), "moe.json");
    const Scenario s = load_scenario(doc);
    const auto t = token_times(doc, s);
    ASSERT_EQ(t.size(), 3u);
    EXPECT_EQ(t.at(1) - t.at(0), run_step(s, 2048).count()) << "ep " << ep;
  }
}

TEST(MoeServing, ExpertParallelDecodeReadsOnlyTheRoutedExpertsOfItsGpu) {
  // One decode token routed to 2 of 8 experts. TP 4 without EP: every GPU reads a quarter of
  // both routed experts. EP 4: two whole experts per GPU; under a uniform load the 2 copies
  // land on experts 0 and 4 (ties in bit-reversed order), on GPUs 0 and 2, each of which reads
  // one whole expert: twice TP's expert bytes, so the memory-bound step is slower.
  const Scenario tp = load_scenario(ConfigDocument(scenario_json(4, false, 2048, kUniform), "a"));
  const Scenario ep = load_scenario(ConfigDocument(scenario_json(4, true, 2048, kUniform), "b"));
  EXPECT_GT(run_step(ep, 2048), run_step(tp, 2048));
}

TEST(MoeServing, ReplicaWeightsAndResolvedConfigSayExpertParallel) {
  const ConfigDocument doc(scenario_json(2, true, 1024, kUniform), "moe.json");
  const Scenario s = load_scenario(doc);
  const ServingSetup setup = ServingSetup::from_config(doc.root().at("serving"), s);
  EXPECT_TRUE(setup.expert_parallel.all());
  EXPECT_EQ(setup.expert_degree(), 2);
  EXPECT_EQ(setup.resolved.value("expert_parallel", false), true);
  EXPECT_EQ(s.resolved["decode"]["expert_parallel"], true);
  EXPECT_EQ(s.resolved["expert_load"]["type"], "uniform");
}

TEST(MoeServing, ExpertParallelismIsRefusedWhereThereAreNoExpertsOrTheyDoNotSplit) {
  Json dense = scenario_json(2, true, 1024, kUniform);
  dense["model"] = "llama-2-7b";
  dense.erase("expert_load");
  dense["decode"].erase("expert_parallel");
  try {
    const ConfigDocument doc(dense, "dense.json");
    const Scenario s = load_scenario(doc);
    (void)ServingSetup::from_config(doc.root().at("serving"), s);
    ADD_FAILURE() << "a dense model took expert_parallel";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/serving/expert_parallel");
  }
  Json dense_load = dense;
  dense_load["expert_load"] = kUniform;
  dense_load.erase("serving");
  try {
    (void)load_scenario(ConfigDocument(dense_load, "dense.json"));
    ADD_FAILURE() << "a dense model took an expert_load";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/expert_load");
  }
  // 3 GPUs do not divide Mixtral's 8 experts (nor its 32 heads: the expert check comes first).
  Json three = scenario_json(2, true, 1024, kUniform);
  three["decode"]["tensor_parallel"] = 3;
  EXPECT_THROW(load_scenario(ConfigDocument(three, "three.json")), InputError);
}

TEST(MoeServing, AnExpertParallelDegreeBelowTheReplicaShardsEachExpertOverItsGroup) {
  // TP 4 with EP 2 (expert-TP 2): two groups of two GPUs, each group holding four of Mixtral's
  // eight experts, each expert split in half over its group's GPUs. Every GPU holds the rest of
  // the model's weights / 4 and the routed experts / 4 (4 experts x 1/2 each of 8).
  Json j = scenario_json(4, true, 2048, kUniform);
  j["decode"]["expert_parallel"] = 2;
  j["serving"]["expert_parallel"] = 2;
  const ConfigDocument doc(j, "ep2.json");
  const Scenario s = load_scenario(doc);
  const ServingSetup setup = ServingSetup::from_config(doc.root().at("serving"), s);
  EXPECT_EQ(s.decode->expert_degree(), 2);
  EXPECT_EQ(setup.expert_degree(), 2);
  EXPECT_EQ(s.resolved["decode"]["expert_parallel"], 2);
  EXPECT_EQ(setup.resolved["expert_parallel"], 2);
  const LlmSpec& m = s.model;
  const double routed = static_cast<double>(m.routed_expert_parameters_total());
  EXPECT_DOUBLE_EQ(m.weight_bytes_per_gpu(DType::kFp16, 4, 2),
                   (static_cast<double>(m.parameters()) - routed) * 2 / 4 + routed * 2 / 4);
  // run's decode step is serve's, at the degree written.
  const auto t = token_times(doc, s);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.at(1) - t.at(0), run_step(s, 2048).count());
  // One token's 2 copies land on experts 0 and 4 (uniform ties in bit-reversed order): on
  // groups 0 and 1, each GPU reading half of one expert, as TP 4 without EP reads a quarter of
  // both: the same expert weight bytes (one row of activations instead of two), so EP 2 takes
  // TP's time within 0.1%, and less than EP 4 (a whole expert on each of 2 GPUs).
  const Scenario tp = load_scenario(ConfigDocument(scenario_json(4, false, 2048, kUniform), "a"));
  const Scenario ep4 = load_scenario(ConfigDocument(scenario_json(4, true, 2048, kUniform), "b"));
  EXPECT_NEAR(to_seconds(run_step(s, 2048)) / to_seconds(run_step(tp, 2048)), 1.0, 1e-3);
  EXPECT_LT(run_step(s, 2048), run_step(ep4, 2048));
}

TEST(MoeServing, ExpertParallelDegreesThatDoNotDivideTheReplicaAreRefusedAtTheKey) {
  for (const int degree : {3, 8}) {  // 3 does not divide 4; 8 would need data-parallel attention
    Json j = scenario_json(4, true, 1024, kUniform);
    j["decode"]["expert_parallel"] = degree;
    try {
      (void)load_scenario(ConfigDocument(j, "bad.json"));
      ADD_FAILURE() << "decode took expert_parallel " << degree;
    } catch (const InputError& e) {
      EXPECT_EQ(e.pointer(), "/decode/expert_parallel");
      EXPECT_NE(e.message().find("must divide tensor_parallel 4"), std::string::npos)
          << e.what();
    }
  }
  Json zero = scenario_json(4, true, 1024, kUniform);
  zero["serving"]["expert_parallel"] = 0;
  const ConfigDocument doc(zero, "zero.json");
  const Scenario s = load_scenario(doc);
  EXPECT_THROW((void)ServingSetup::from_config(doc.root().at("serving"), s), InputError);
}

}  // namespace kvsim::serving
