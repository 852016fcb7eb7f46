#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "sim/scenario/prefill_memory.hpp"
#include "sim/scenario/scenario.hpp"

namespace kvsim {
namespace {

const std::string kRoot = KVSIM_SOURCE_DIR;

}  // namespace

TEST(Scenario, EveryShippedScenarioLoads) {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kRoot + "/scenarios")) {
    if (entry.path().extension() != ".json") continue;
    const auto doc = ConfigDocument::load_file(entry.path().string());
    if (doc.json().contains("base")) continue;  // sweep files are checked by the sweep tests
    if (entry.path().parent_path().filename() == "plan") continue;  // plan files: tests/plan
    EXPECT_NO_THROW(load_scenario(doc)) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 1u);
}

TEST(Scenario, ResolvedScenarioSpellsOutDefaults) {
  const Scenario s = load_scenario(ConfigDocument::load_file(kRoot + "/scenarios/default.json"));
  EXPECT_EQ(s.resolved["model"]["layers"], 32);
  EXPECT_EQ(s.resolved["prefill"]["strategies"][3]["routing"], "relay");
  EXPECT_EQ(s.resolved["cluster"]["topology"]["links"].size(), 16u);
  EXPECT_EQ(s.resolved["compute"]["type"], "roofline");
  EXPECT_EQ(s.topology->gpu_count(), 8);
}

TEST(Scenario, HfConfigPathIsRelativeToTheScenarioFile) {
  const auto dir = std::filesystem::temp_directory_path() / "kvsim-hf-test";
  std::filesystem::create_directories(dir / "m");
  {
    std::ofstream(dir / "m" / "config.json")
        << R"({"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336,
               "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
               "vocab_size": 32000, "max_position_embeddings": 32768})";
    std::ofstream(dir / "s.json")
        << R"({"model": {"hf_config": "m/config.json"}, "cluster": {"gpu": "h100-sxm"},
               "decode": {"context_tokens": 100}})";
  }
  const Scenario s = load_scenario(ConfigDocument::load_file((dir / "s.json").string()));
  EXPECT_EQ(s.model.name, "m");
  EXPECT_EQ(s.model.kv_heads, 8);
  std::filesystem::remove_all(dir);
}

TEST(Scenario, AModelTooBigForItsGpusIsRefusedBeforeAnyTtft) {
  // The issue's example: Llama-3.1-405B (756 GiB of bf16 weights) on 80 GiB A100s; usable
  // 80 GiB x 0.9 = 72 GiB.
  ConfigDocument doc = ConfigDocument::load_file(kRoot + "/scenarios/default.json");
  doc.apply_override("/model=llama-3.1-405b");
  try {
    load_scenario(doc);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/prefill/strategies/0");  // single, the first strategy
    EXPECT_NE(e.message().find("on GPU 0 (weights 756."), std::string::npos) << e.what();
    EXPECT_NE(e.message().find("72.0 GiB usable per GPU"), std::string::npos) << e.what();
  }
  // Giving the weights room (an H200 holds 141 GB; no strategy here shards 405B enough) still
  // refuses: the check is per GPU, not per cluster.
  doc.apply_override("/cluster/gpu=h200");
  EXPECT_THROW(load_scenario(doc), InputError);
}

TEST(Scenario, MemoryUtilizationSetsTheUsableShareOfHbm) {
  // Llama-2-7B, one A100 (80 GiB in the catalog), 4096 tokens: 12.6 GiB weights + 2 GiB KV +
  // 0.3 GiB activations = 14.9 GiB fits at 0.9 (72 GiB) and not at 0.15 (12 GiB).
  ConfigDocument doc = ConfigDocument::parse(
      R"({"model": "llama-2-7b", "cluster": {"gpu": "a100-sxm4-80gb", "memory_utilization": 0.9},
          "prefill": {"context_tokens": 4096, "strategies": [{"type": "single"}]}})",
      "mem.json");
  EXPECT_EQ(load_scenario(doc).resolved["cluster"]["memory_utilization"], 0.9);
  doc.apply_override("/cluster/memory_utilization=0.15");
  EXPECT_THROW(load_scenario(doc), InputError);
}

namespace {

// Llama-2-7B, 2 GPUs, 16384 tokens, eager attention, KVR-S at granularity 1024, on A100s at
// memory utilisation `utilization`.
ConfigDocument searched_memory_scenario(double utilization) {
  return ConfigDocument::parse(
      fmt::format(R"({{"model": "llama-2-7b",
          "cluster": {{"gpu": "a100-sxm4-80gb", "memory_utilization": {},
                      "topology": {{"type": "nvswitch", "gpus": 2}}}},
          "prefill": {{"context_tokens": 16384, "attention": "eager", "strategies": [
            {{"type": "kvr", "partitioner": {{"type": "search", "granularity": 1024}}}}]}}}})",
                  utilization),
      "searched.json");
}

}  // namespace

TEST(Scenario, ASearchWithNoFittingPartitionIsRefusedAtRunTime) {
  // Before the search the least any partition needs is the last GPU's 12.6 GiB weights + 8 GiB
  // KV (+ one token's activations): it fits 80 GiB x 0.3 = 24 GiB, so the load passes. But
  // every split over-fills a GPU: GPU 1 has room for ~3000 queries' eager scores (16384 keys x
  // 32 heads x 2 B = 1 MiB each), and GPU 0 then computes > 13000 queries (> 10 GiB of scores).
  const Scenario s = load_scenario(searched_memory_scenario(0.3));
  EXPECT_TRUE(s.prefill->strategies[0]->memory_plan(s.prefill_setup()).lower_bound);
  try {
    run_prefill(s, false);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/prefill/strategies/0/partitioner");
    EXPECT_NE(e.message().find("KVR-S found no partition that fits in memory"), std::string::npos)
        << e.what();
    // The least-needing split (11264/5120 on this grid) over-fills GPU 0: 12.6 GiB weights +
    // 5.5 GiB KV + 8.4 GiB activations (7.6 GiB of them eager scores) = 26.5 GiB > 24 GiB.
    EXPECT_NE(e.message().find("the one needing least, 11264/5120 tokens, needs 26.5 GiB on GPU 0"),
              std::string::npos)
        << e.what();
  }
}

TEST(Scenario, ASearchRunsWithTheFastestPartitionThatFits) {
  // At 0.34 (27.2 GiB usable) the unconstrained optimum (9216/7168 at granularity 1024: GPU 1
  // with 7168 x 1 MiB = 7 GiB of scores on 20.6 GiB of weights and KV) does not fit, but
  // splits that give GPU 0 more tokens do: the run takes one and its plan fits.
  const Scenario s = load_scenario(searched_memory_scenario(0.34));
  const std::vector<CheckedPrefill> runs = run_prefill(s, false);
  ASSERT_EQ(runs.size(), 1U);
  EXPECT_EQ(prefill::memory_overflow(runs[0].memory, s.memory_capacity()), "");
  EXPECT_GT(runs[0].result.partition[0], runs[0].result.partition[1]);
}

TEST(Scenario, LabelsNameStrategiesInResultsAndTheResolvedScenario) {
  // Two KV-Runahead variants that both default to "kvr/even": labels keep them apart.
  const ConfigDocument doc = ConfigDocument::parse(
      R"({"model": "llama-2-7b",
          "cluster": {"gpu": "a100-sxm4-80gb", "topology": {"type": "nvswitch", "gpus": 2}},
          "prefill": {"context_tokens": 1024, "strategies": [
            {"type": "kvr", "send": "before-attention"},
            {"type": "kvr", "send": "after-attention", "label": "kvr/after"}]}})",
      "labels.json");
  const Scenario s = load_scenario(doc);
  const std::vector<CheckedPrefill> runs = run_prefill(s, false);
  EXPECT_EQ(runs[0].result.label, "kvr/even");
  EXPECT_EQ(runs[1].result.label, "kvr/after");
  EXPECT_FALSE(s.resolved["prefill"]["strategies"][0].contains("label"));
  EXPECT_EQ(s.resolved["prefill"]["strategies"][1]["label"], "kvr/after");
}

namespace {

// A strategy's fullest GPU, from the model's per-token sizes alone (fp16/bf16: 2 B).
double expected_peak(const std::string& type, const LlmSpec& m, std::int64_t c, std::int64_t p,
                     bool eager) {
  const double w = m.weight_bytes(m.dtype);
  const double kv = m.kv_bytes_per_token(m.dtype);
  const double act = m.activation_bytes_per_token(m.dtype);
  const auto scores = [&](double q, double k, double heads) {
    return eager ? q * k * heads * 2 : 0.0;
  };
  const auto cd = static_cast<double>(c);
  const auto pd = static_cast<double>(p);
  const auto heads = static_cast<double>(m.heads);
  if (type == "single") return w + cd * kv + cd * act + scores(cd, cd, heads);
  if (type == "tp") {
    const double kv_share = static_cast<double>((m.kv_heads + p - 1) / p) /
                            static_cast<double>(m.kv_heads);
    const double replicated = 2.0 * static_cast<double>(m.hidden_size) * 2;
    return w / pd + cd * kv * kv_share + cd * (replicated + (act - replicated) / pd) +
           scores(cd, cd, heads / pd);
  }
  // tsp: the first GPU has the most queries and the whole cache; kvr/even: process i holds
  // S_i keys; the extra tokens of C mod p go to the first processes.
  double peak = 0;
  std::int64_t prefix = 0;
  for (std::int64_t i = 0; i < p; ++i) {
    const std::int64_t tokens = c / p + (i < c % p ? 1 : 0);
    prefix += tokens;
    const auto mine = static_cast<double>(tokens);
    const double held = type == "tsp" ? cd : static_cast<double>(prefix);
    peak = std::max(peak, w + held * kv + mine * act + scores(mine, held, heads));
  }
  return peak;
}

}  // namespace

TEST(Scenario, EveryPrintedTtftHasAFeasibleMemoryPlan) {
  // Random model x GPU x GPU count x context x attention: the scenario runs exactly when each
  // strategy's fullest GPU fits HBM x 0.9; otherwise the first strategy that does not fit is
  // refused at its pointer.
  const std::vector<std::string> models{"llama-2-7b", "llama-3-8b", "falcon-7b", "llama-2-70b",
                                        "qwen2-72b", "llama-3.1-405b", "phi-2"};
  const std::vector<std::string> gpus{"a100-sxm4-40gb", "a100-sxm4-80gb", "h200"};
  std::mt19937_64 random(7);
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
  int ran = 0;
  int refused = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const LlmSpec m = catalog::llm(models[pick(models.size())]);
    const GpuSpec gpu = catalog::gpu(gpus[pick(gpus.size())]);
    const std::int64_t p = std::int64_t{1} << pick(4);         // 1, 2, 4, 8 GPUs
    const std::int64_t c = std::int64_t{256} << (2 * pick(5));  // 256 ... 65536 tokens
    const bool eager = pick(2) == 0;
    std::vector<std::string> types{"single", "tsp", "kvr"};
    if (m.heads % p == 0) types.push_back("tp");
    Json strategies = Json::array();
    for (const auto& t : types) strategies.push_back(Json{{"type", t}});
    Json j{{"model", m.name},
           {"cluster", {{"gpu", gpu.name}, {"topology", {{"type", "nvswitch"}, {"gpus", p}}}}},
           {"prefill", {{"context_tokens", c}, {"attention", eager ? "eager" : "fused"},
                        {"strategies", strategies}}}};
    std::string first_over;
    for (std::size_t k = 0; k < types.size() && first_over.empty(); ++k) {
      if (expected_peak(types[k], m, c, p, eager) > 0.9 * gpu.hbm_bytes) {
        first_over = "/prefill/strategies/" + std::to_string(k);
      }
    }
    const std::string where = m.name + " on " + std::to_string(p) + " x " + gpu.name + ", " +
                              std::to_string(c) + (eager ? " eager" : " fused");
    try {
      const Scenario s = load_scenario(ConfigDocument(j, "random.json"));
      for (const CheckedPrefill& r : run_prefill(s, false)) {
        EXPECT_GT(r.result.ttft.count(), 0) << where;
        EXPECT_LE(r.memory.peak().total(), s.memory_capacity().bytes()) << where;
      }
      EXPECT_EQ(first_over, "") << where << ": ran, but expected a refusal";
      ++ran;
    } catch (const InputError& e) {
      EXPECT_EQ(e.pointer(), first_over) << where << ": " << e.what();
      ++refused;
    }
  }
  // The draw covers both outcomes.
  EXPECT_GT(ran, 5);
  EXPECT_GT(refused, 5);
}


namespace {

// searched_memory_scenario's chain with `partitioner` as the KV-Runahead partitioner.
Scenario memory_scenario_with(double utilization, const std::string& partitioner) {
  ConfigDocument doc = ConfigDocument::parse(
      fmt::format(R"({{"model": "llama-2-7b",
          "cluster": {{"gpu": "a100-sxm4-80gb", "memory_utilization": {},
                      "topology": {{"type": "nvswitch", "gpus": 2}}}},
          "prefill": {{"context_tokens": 16384, "attention": "eager", "strategies": [
            {{"type": "kvr", "partitioner": {}}}]}}}})",
                  utilization, partitioner),
      kRoot + "/kvrp-memory.json");  // the predictor file is relative to it
  return load_scenario(doc);
}

}  // namespace

TEST(Scenario, APredictedPartitionThatDoesNotFitFallsBackToTheMemoryAwareSearch) {
  // predictors/a100-kvr.json covers Llama-2-7B on 2 A100s at 16k tokens, eager: it predicts
  // about 9650/6730, whose GPU 1 needs 12.55 GiB weights + 8 GiB KV + 7.1 GiB activations =
  // 27.65 GiB. At utilisation 0.5 (40 GiB) that fits: no warning. At 0.34 (27.2 GiB) no
  // predicted candidate fits: a warning, and the partition is KVR-S's (default options), which
  // fits.
  const std::string predicted = R"({"type": "predicted", "file": "predictors/a100-kvr.json"})";
  const auto mentions_memory = [](const Scenario& s) {
    return std::any_of(s.warnings.begin(), s.warnings.end(), [](const std::string& w) {
      return w.find("predicts no partition that fits in memory") != std::string::npos;
    });
  };
  EXPECT_FALSE(mentions_memory(memory_scenario_with(0.5, predicted)));

  const Scenario s = memory_scenario_with(0.34, predicted);
  EXPECT_TRUE(mentions_memory(s));
  const CheckedPrefill run = run_prefill(s, false).at(0);
  EXPECT_EQ(prefill::memory_overflow(run.memory, s.memory_capacity()), "");
  const Scenario searched = memory_scenario_with(0.34, R"({"type": "search"})");
  EXPECT_EQ(run.result.partition, run_prefill(searched, false).at(0).result.partition);
}

}  // namespace kvsim

namespace kvsim {

TEST(Scenario, ADecodeBatchThatCannotFitItsGpuIsWarnedAbout) {
  // Llama-2-7B fp16: KV 2 x 32 layers x 4096 x 2 B = 512 KiB a token; 16 x 4096 tokens = 32 GiB
  // of KV + 12.55 GiB of weights fit 80 GiB x 0.9 = 72 GiB; 64 x 4096 tokens (128 GiB) do not.
  const auto scenario = [](int batch) {
    return load_scenario(ConfigDocument::parse(
        fmt::format(R"({{"model": "llama-2-7b", "cluster": {{"gpu": "a100-sxm4-80gb"}},
                        "decode": {{"batch_size": {}, "context_tokens": 4096}}}})",
                    batch),
        "s.json"));
  };
  EXPECT_TRUE(scenario(16).warnings.empty());
  const Scenario s = scenario(64);
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("s.json: at /decode: the decode step is priced on one "
                               "a100-sxm4-80gb, which it does not fit: weights 12.6 GiB + KV "
                               "cache 128.0 GiB (64 requests x 4096 tokens) over the 72.0 GiB"),
            std::string::npos)
      << s.warnings[0];
}

TEST(Scenario, ADecodeStepUnderTensorParallelismIsCheckedAgainstOneGpusShard) {
  // Llama-2-70B fp16: 128.5 GiB of weights; KV 2 x 80 layers x 8 KV heads x 128 x 2 B = 320 KiB
  // a token, 4096 tokens = 1.25 GiB. On one GPU the weights alone exceed 80 GiB x 0.9 = 72 GiB;
  // at tensor_parallel 2 a GPU holds 64.2 GiB + 0.6 GiB; at pipeline_parallel 2 it holds half
  // the weights and the KV of 40 layers: the same.
  const auto scenario = [](int tp, int pp) {
    return load_scenario(ConfigDocument::parse(
        fmt::format(R"({{"model": "llama-2-70b",
                        "cluster": {{"gpu": "a100-sxm4-80gb",
                                    "topology": {{"type": "nvswitch", "gpus": 8}}}},
                        "decode": {{"context_tokens": 4096, "tensor_parallel": {},
                                   "pipeline_parallel": {}}}}})",
                    tp, pp),
        "s.json"));
  };
  const Scenario one = scenario(1, 1);
  ASSERT_EQ(one.warnings.size(), 1u);
  EXPECT_NE(one.warnings[0].find("priced on one a100-sxm4-80gb, which it does not fit: weights "
                                 "128.5 GiB + KV cache"),
            std::string::npos)
      << one.warnings[0];
  EXPECT_NE(one.warnings[0].find("give a larger tensor_parallel or pipeline_parallel"),
            std::string::npos);
  EXPECT_TRUE(scenario(2, 1).warnings.empty());
  EXPECT_TRUE(scenario(1, 2).warnings.empty());
  EXPECT_EQ(scenario(8, 1).resolved["decode"]["tensor_parallel"], 8);
  EXPECT_EQ(scenario(1, 1).resolved["decode"]["pipeline_parallel"], 1);
}

TEST(Scenario, ADecodeContextPastTheTrainedMaximumIsWarnedAbout) {
  const auto scenario = [](int context) {
    return load_scenario(ConfigDocument::parse(
        fmt::format(R"({{"model": "llama-2-7b", "cluster": {{"gpu": "a100-sxm4-80gb"}},
                        "decode": {{"context_tokens": {}}}}})",
                    context),
        "s.json"));
  };
  EXPECT_TRUE(scenario(4096).warnings.empty());
  const Scenario s = scenario(4097);
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_EQ(s.warnings[0], "s.json: decode context of 4097 tokens exceeds llama-2-7b's trained "
                           "maximum of 4096 (simulated anyway)");
}

TEST(Scenario, ADecodeShardThatCannotFitItsGpuIsWarnedAboutWithItsLayout) {
  // Llama-2-7B at tensor_parallel 2: 12.55 / 2 = 6.3 GiB of weights a GPU and 256 KiB of KV a
  // token; 128 x 4096 tokens = 128 GiB over the 72 GiB usable.
  const Scenario s = load_scenario(ConfigDocument::parse(
      R"({"model": "llama-2-7b",
          "cluster": {"gpu": "a100-sxm4-80gb", "topology": {"type": "nvswitch", "gpus": 2}},
          "decode": {"batch_size": 128, "context_tokens": 4096, "tensor_parallel": 2}})",
      "s.json"));
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("priced on 2 x a100-sxm4-80gb (tensor_parallel 2 x "
                               "pipeline_parallel 1), whose fullest GPU its shard does not "
                               "fit: weights 6.3 GiB + KV cache 128.0 GiB (128 requests x 4096 "
                               "tokens)"),
            std::string::npos)
      << s.warnings[0];
}

}  // namespace kvsim
