// Data-parallel attention with expert parallelism in kvsim run's decode step
// (sim/serving/dp_attention.hpp): the round-robin split, the step as its closed form (the
// busiest rank's attention part, the busiest expert rank over every rank's tokens, two
// all-to-alls a layer), KV per GPU of a rank's own sequences with every head, the capacity that
// gives, and the refusals of what is not modelled.
#include <cmath>
#include <map>
#include <numeric>

#include <gtest/gtest.h>

#include "models/llm/moe_operations.hpp"
#include "sim/core/input_error.hpp"
#include "sim/network/collectives.hpp"
#include "sim/serving/decode_step.hpp"
#include "sim/serving/engine.hpp"
#include "sim/serving/scheduler.hpp"

namespace kvsim::serving {
namespace {

// A "decode" section of `batch` requests at `context` KV tokens on `tp` GPUs of one 8 x H200
// NVSwitch node, roofline compute, uniform expert load; `extra` adds decode fields.
Json scenario_json(const std::string& model, int tp, std::int64_t batch, std::int64_t context,
                   const Json& extra = Json::object()) {
  Json decode{{"batch_size", batch}, {"context_tokens", context}, {"tensor_parallel", tp},
              {"expert_parallel", true}, {"data_parallel_attention", true}};
  decode.update(extra);
  return Json{{"model", model},
              {"expert_load", {{"type", "uniform"}}},
              {"cluster", {{"gpu", "h200"}, {"topology", {{"type", "nvswitch"}, {"gpus", 8}}}}},
              {"compute", {{"type", "roofline"}}},
              {"decode", decode}};
}

Scenario load(const Json& j) { return load_scenario(ConfigDocument(j, "dp.json")); }

DecodeStep section_step(const Scenario& s) {
  const std::vector<std::int64_t> lengths(static_cast<std::size_t>(s.decode->batch_size),
                                          s.decode->context_tokens);
  return decode_section_step(s, lengths);
}

double seconds_of(const Scenario& s, std::span<const Operation> ops) {
  return s.engine.ops_seconds(*s.compute, ops, PassKind::kPureDecode);
}

// Whether loading `j` is refused with a message containing `text`.
void expect_refused(const Json& j, const std::string& text) {
  try {
    load(j);
    ADD_FAILURE() << "not refused: " << text;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

// Mixtral-8x7B on 8 x H200: a decode step of `batch` at `context` and a serving replica of 4
// data-parallel attention ranks fed a burst of `batch` requests of `context` - 1 prompt tokens
// and 3 output tokens.
Json serving_json(std::int64_t batch, std::int64_t context) {
  Json j = scenario_json("mixtral-8x7b", 4, batch, context);
  j["serving"] = {{"workload",
                   {{"requests", batch},
                    {"arrivals", {{"type", "burst"}}},
                    {"lengths", {{"type", "fixed"}, {"prompt", context - 1}, {"output", 3}}}}},
                  {"scheduler", {{"type", "vllm"}, {"max_batched_tokens", 16384}}},
                  {"tensor_parallel", 4},
                  {"expert_parallel", true},
                  {"data_parallel_attention", true}};
  return j;
}

// The times (ns) at which serve's first request emits each token.
std::map<std::int64_t, std::int64_t> token_times(const ConfigDocument& doc, const Scenario& s) {
  ServingSetup setup = ServingSetup::from_config(doc.root().at("serving"), s);
  Workload w(doc.root().at("serving").at("workload"), RandomStreams(s.seed), s.model.max_context);
  std::map<std::int64_t, std::int64_t> times;
  ServingObservers observers;
  observers.token = [&times](std::uint64_t id, std::int64_t index, double seconds) {
    if (id == 0) times[index] = std::llround(seconds * 1e9);
  };
  simulate_serving(s, setup, std::move(w), observers);
  return times;
}

}  // namespace

TEST(DpAttention, SplitsTheBatchRoundRobinBySequence) {
  const std::vector<std::int64_t> kv{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const auto ranks = split_round_robin(kv, 4);
  ASSERT_EQ(ranks.size(), 4u);
  EXPECT_EQ(ranks[0], (std::vector<std::int64_t>{1, 5, 9}));
  EXPECT_EQ(ranks[1], (std::vector<std::int64_t>{2, 6, 10}));
  EXPECT_EQ(ranks[2], (std::vector<std::int64_t>{3, 7}));
  EXPECT_EQ(ranks[3], (std::vector<std::int64_t>{4, 8}));
}

TEST(DpAttention, StepIsTheBusiestRanksAttentionThenExpertsBetweenTwoAllToAllsPerLayer) {
  // Mixtral-8x7B, 10 requests at 2,048 tokens on 4 ranks: rank 0 (and 1) runs 3 sequences.
  const Scenario s = load(scenario_json("mixtral-8x7b", 4, 10, 2048));
  const DecodeStep step = section_step(s);
  ASSERT_TRUE(step.data_parallel);
  const DpAttentionStep& dp = *step.data_parallel;
  EXPECT_EQ(dp.busiest_sequences, 3);
  // The busiest rank's layer at tensor parallel 1 without the routed experts, which run on the
  // busiest of 4 EP ranks over all 10 tokens.
  const DecomposeOptions o = s.decompose_options(1, 4);
  const std::vector<std::int64_t> three(3, 2048);
  std::vector<Operation> attention_part;
  for (const Operation& op : decode_layer(s.model, three, o)) {
    if (!is_routed_expert(op)) attention_part.push_back(op);
  }
  // The compiled cost sums the per-token operations before attention: the same operations in
  // another order, equal to the last few bits.
  const double part = seconds_of(s, attention_part);
  EXPECT_NEAR(dp.attention_seconds, part, 1e-12 * part);
  EXPECT_EQ(dp.experts_seconds, seconds_of(s, routed_expert_ops(s.model, 10, o)));
  // All-to-all: 3 tokens x 2 experts each x 4,096 hidden x 2 B (bf16) = 49,152 B per rank
  // (every layer is MoE), priced by the network's closed form over GPUs 0-3.
  EXPECT_EQ(dp.all_to_all_bytes, 49152.0);
  const std::vector<int> gpus{0, 1, 2, 3};
  const auto kind = net::CollectiveKind::kAllToAll;
  EXPECT_EQ(dp.all_to_all_time,
            net::collective_time(*s.topology, gpus, kind, s.collectives.algorithm, 49152.0,
                                 net::choose_protocol(*s.topology, gpus, kind, s.collectives,
                                                      49152.0)));
  // step = embedding + 32 x (attention part + experts) + head, then 2 x 32 all-to-alls.
  const auto ends = model_ends(s.model, 3, 3, o);
  const double first = seconds_of(s, std::span(ends).subspan(0, 1)) + dp.attention_seconds;
  const double compute = first + 31.0 * dp.attention_seconds + 32.0 * dp.experts_seconds +
                         seconds_of(s, std::span(ends).subspan(1));
  EXPECT_EQ(step.compute, from_seconds(compute));
  EXPECT_EQ(step.all_to_alls, 64);
  EXPECT_EQ(step.communication, 64 * dp.all_to_all_time);
  EXPECT_EQ(step.total, step.compute + step.communication);
}

TEST(DpAttention, MlaKvPerGpuIsTheRanksOwnSequencesNotDividedByTensorParallel) {
  // DeepSeek-V3, fp8 KV: one latent of (512 + 64) x 61 layers x 1 B = 35,136 B per token.
  // 64 requests at 8,192 tokens on 8 ranks: 8 sequences per GPU, 8 x 8,192 x 35,136 B =
  // 2,302,672,896 B. Under TP 8 every GPU holds the latent of all 64 (MLA has one KV head):
  // 8 times as much.
  Json j = scenario_json("deepseek-v3", 8, 64, 8192);
  j["precision"] = {{"weights", "fp8"}, {"activations", "fp8"}, {"kv_cache", "fp8"}};
  const Scenario s = load(j);
  const DpAttentionStep dp = *section_step(s).data_parallel;
  EXPECT_EQ(s.model.kv_bytes_per_token(DType::kFp8), 35136.0);
  EXPECT_EQ(dp.kv_bytes_per_gpu, 2302672896.0);
  // Weights: everything but the routed experts whole, the routed experts over 8 GPUs.
  EXPECT_EQ(dp.weight_bytes_per_gpu, s.model.weight_bytes_per_gpu(s.precision, 1, 8));
  // All-to-all: 8 tokens x 8 experts x 7,168 hidden x 1 B (fp8) x 58 of 61 layers MoE.
  EXPECT_DOUBLE_EQ(dp.all_to_all_bytes, 8.0 * 8 * 7168 * 58 / 61);
}

TEST(DpAttention, KvCapacityIsEachRanksOwnSoALargerBatchFitsThanUnderTensorParallel) {
  // DeepSeek-V3 fp8 on 8 x H200 (usable 141 GB x 0.9), 256 requests at 16,384 tokens:
  // 4,194,304 tokens x 35,136 B = 137 GiB of latents. TP 8 holds all of them on every GPU
  // beside 78 GiB of weights (does not fit: warned); DP 8 holds 32 sequences, 17.2 GiB, per
  // GPU beside 92 GiB of weights (fits).
  const Json precision{{"weights", "fp8"}, {"activations", "fp8"}, {"kv_cache", "fp8"}};
  Json dp = scenario_json("deepseek-v3", 8, 256, 16384);
  dp["precision"] = precision;
  Json tp = dp;
  tp["decode"].erase("data_parallel_attention");
  EXPECT_TRUE(load(dp).warnings.empty());
  const Scenario t = load(tp);
  ASSERT_EQ(t.warnings.size(), 1u);
  EXPECT_NE(t.warnings[0].find("give a smaller batch_size"), std::string::npos);
}

TEST(DpAttention, RefusesWhatItDoesNotModel) {
  Json dense = scenario_json("llama-3.1-8b", 4, 8, 1024, {{"expert_parallel", false}});
  dense.erase("expert_load");
  expect_refused(dense, "is dense");
  expect_refused(scenario_json("mixtral-8x7b", 4, 8, 1024, {{"pipeline_parallel", 2}}),
                 "pipeline_parallel > 1 is not modelled");
  expect_refused(scenario_json("mixtral-8x7b", 4, 8, 1024, {{"expert_parallel", 2}}),
                 "expert-TP inside data-parallel attention");
  expect_refused(scenario_json("mixtral-8x7b", 4, 8, 1024, {{"expert_parallel", false}}),
                 "needs \"expert_parallel\": true");
  expect_refused(scenario_json("mixtral-8x7b", 4, 8, 1024,
                               {{"drafter", {{"type", "ngram"}, {"k", 2}}}}),
                 "speculative decoding on data-parallel attention is not modelled");
}

TEST(DpAttention, RunsDecodeStepEqualsServesIterationOfEqualRequestsArrivingAtOnce) {
  // A burst of 1, 6 and 8 equal requests joins the ranks as the step splits its batch
  // (the least loaded rank, ties to the lowest: round-robin), so serve's first decode
  // iteration (KV length `context` for each) is run's step to the nanosecond.
  for (const std::int64_t batch : {1, 6, 8}) {
    const ConfigDocument doc(serving_json(batch, 2048), "dp.json");
    const Scenario s = load_scenario(doc);
    const auto t = token_times(doc, s);
    ASSERT_EQ(t.size(), 3u);
    EXPECT_EQ(t.at(1) - t.at(0), section_step(s).total.count()) << "batch " << batch;
  }
}

TEST(DpAttention, ReplicaKvCapacityIsRanksTimesOneRanksWholeGpu) {
  // Each rank's budget: HBM x 0.9 less every weight but the routed experts and a quarter of
  // them, less one rank's batch of activations, over the K and V of every layer and head
  // (tensor parallel 1): 4 memories of that capacity per replica.
  const ConfigDocument doc(serving_json(1, 2048), "dp.json");
  const Scenario s = load_scenario(doc);
  const ServingSetup setup = ServingSetup::from_config(doc.root().at("serving"), s);
  ASSERT_EQ(setup.memories.size(), 4u);
  const LlmSpec& m = s.model;
  EXPECT_EQ(setup.budget.fixed_bytes,
            m.weight_bytes_per_gpu(s.precision, 1, 4) +
                m.activation_bytes_per_token(s.precision.activations) * 16384.0);
  EXPECT_EQ(setup.budget.kv_bytes_per_token, 32.0 * 2 * 8 * 128 * 2);  // 128 KiB, bf16
  const auto rank = static_cast<std::int64_t>(
      (s.gpu.hbm_bytes * 0.9 - setup.budget.fixed_bytes) / setup.budget.kv_bytes_per_token);
  for (const auto& memory : setup.memories) EXPECT_EQ(memory->capacity(), rank);
  EXPECT_EQ(setup.resolved["data_parallel_attention"], true);
}

TEST(DpAttention, EverySchedulerFinishesEveryRequestWithinEachRanksMemory) {
  // Conformance: every registered scheduler on a replica of 4 ranks with tight memory (the
  // engine throws if a rank's batch breaks its memory or batch limit, or a request is lost).
  for (const std::string& scheduler : schedulers().names()) {
    Json j = serving_json(1, 2048);
    j["serving"]["workload"] = {
        {"requests", 120},
        {"arrivals", {{"type", "poisson"}, {"rate", "40/s"}}},
        {"lengths", {{"type", "uniform"}, {"prompt_min", 16}, {"prompt_max", 3000},
                     {"output_min", 1}, {"output_max", 300}}}};
    j["serving"]["scheduler"] = {{"type", scheduler}, {"max_batch_size", 16},
                                 {"max_batched_tokens", 4096}};
    j["serving"]["memory"] = {{"type", "paged"}, {"utilization", 0.2}};
    const ConfigDocument doc(j, "dp.json");
    const Scenario s = load_scenario(doc);
    const auto run = [&] {
      ServingSetup setup = ServingSetup::from_config(doc.root().at("serving"), s);
      Workload w(doc.root().at("serving").at("workload"), RandomStreams(s.seed),
                 s.model.max_context);
      return simulate_serving(s, setup, std::move(w)).summary;
    };
    const Json a = run();
    EXPECT_EQ(a["requests"], 120) << scheduler;
    EXPECT_EQ(a.dump(), run().dump()) << "deterministic: " << scheduler;
  }
}

TEST(DpAttention, ServingRefusesWhatItDoesNotModel) {
  const auto refused = [](const Json& j, const std::string& text) {
    const ConfigDocument doc(j, "dp.json");
    const Scenario s = load_scenario(doc);
    try {
      ServingSetup::from_config(doc.root().at("serving"), s);
      ADD_FAILURE() << "not refused: " << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  Json dense = serving_json(1, 2048);
  dense["model"] = "llama-3.1-8b";
  dense.erase("decode");
  dense.erase("expert_load");
  dense["serving"]["expert_parallel"] = false;
  refused(dense, "is dense");
  Json flows = serving_json(1, 2048);
  flows["serving"]["communication"] = "flows";
  refused(flows, "closed form only");
  Json pp = serving_json(1, 2048);
  pp["serving"]["pipeline_parallel"] = 2;
  refused(pp, "pipeline_parallel > 1 is not modelled");
  Json ep2 = serving_json(1, 2048);
  ep2["serving"]["expert_parallel"] = 2;
  refused(ep2, "expert-TP inside data-parallel attention");
}

}  // namespace kvsim::serving
