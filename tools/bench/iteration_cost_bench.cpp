// One serving iteration's cost on one GPU (issue 20): Llama-2-7B on the calibrated A100 profile,
// a mixed batch (two prefill chunks and 62 decodes) and a pure-decode batch of 64 sequences,
// priced by the compiled cost (IterationCost, as `kvsim serve` runs) and by the decomposition
// it replaced (reference_iteration_cost), in the same run so that the ratio is same-run; and the
// same decode batch on Mixtral-8x7B (TP 4 with its 8 experts over the 4 GPUs, a Zipf load).
// The compiled cost's tables are warm after the first iteration, as in a serving run.
#include <benchmark/benchmark.h>

#include "sim/serving/iteration_cost.hpp"

namespace {

kvsim::Scenario dense_scenario() {
  const kvsim::Json s{{"model", "llama-2-7b"},
                      {"cluster", {{"gpu", "a100-sxm4-80gb"}}},
                      {"compute", {{"type", "calibrated"}, {"profile", "a100-sxm4-80gb"}}},
                      {"prefill",
                       {{"context_tokens", 512},
                        {"strategies", kvsim::Json::array({{{"type", "single"}}})}}}};
  return kvsim::load_scenario(kvsim::ConfigDocument(s, "bench.json"));
}

kvsim::Scenario moe_scenario() {
  const kvsim::Json s{{"model", "mixtral-8x7b"},
                      {"cluster",
                       {{"gpu", "a100-sxm4-80gb"}, {"topology", {{"type", "nvswitch"}, {"gpus", 4}}}}},
                      {"compute", {{"type", "calibrated"}, {"profile", "a100-sxm4-80gb"}}},
                      {"expert_load", {{"type", "zipf"}, {"skew", 0.5}}},
                      {"prefill",
                       {{"context_tokens", 512},
                        {"strategies", kvsim::Json::array({{{"type", "tp"}}})}}}};
  return kvsim::load_scenario(kvsim::ConfigDocument(s, "bench-moe.json"));
}

// 64 decodes at KV lengths spread over 200..3,350 (a chat batch's skew).
kvsim::serving::IterationShape decode_batch() {
  kvsim::serving::IterationShape shape;
  for (std::int64_t i = 0; i < 64; ++i) shape.decodes.push_back(200 + 50 * i);
  shape.emitting = 64;
  return shape;
}

// A chunked-prefill iteration: a 512-token chunk of a 1,536-token prompt, a whole 300-token
// prompt, and 62 decodes.
kvsim::serving::IterationShape mixed_batch() {
  kvsim::serving::IterationShape shape = decode_batch();
  shape.decodes.resize(62);
  shape.prefills = {{512, 1536}, {300, 300}};
  shape.emitting = 63;
  return shape;
}

void run_compiled(benchmark::State& state, const kvsim::serving::IterationShape& shape) {
  const kvsim::Scenario s = dense_scenario();
  kvsim::serving::IterationCost cost(s, 1);
  for (auto _ : state) benchmark::DoNotOptimize(cost(shape).layer_blocks[0]);
}

constexpr std::int64_t kMoeTp = 4;  // tensor and expert parallel

void BM_MoeDecodeBatch64Compiled(benchmark::State& state) {
  const kvsim::Scenario s = moe_scenario();
  const kvsim::serving::IterationShape shape = decode_batch();
  kvsim::serving::IterationCost cost(s, kMoeTp, kMoeTp);
  for (auto _ : state) benchmark::DoNotOptimize(cost(shape).layer_blocks[0]);
}

void run_reference(benchmark::State& state, const kvsim::serving::IterationShape& shape) {
  const kvsim::Scenario s = dense_scenario();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        kvsim::serving::reference_iteration_cost(s, 1, shape).layer_blocks[0]);
  }
}

void BM_MoeDecodeBatch64Reference(benchmark::State& state) {
  const kvsim::Scenario s = moe_scenario();
  const kvsim::serving::IterationShape shape = decode_batch();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        kvsim::serving::reference_iteration_cost(s, kMoeTp, shape, kMoeTp).layer_blocks[0]);
  }
}

void BM_DecodeBatch64Compiled(benchmark::State& state) { run_compiled(state, decode_batch()); }
void BM_DecodeBatch64Reference(benchmark::State& state) { run_reference(state, decode_batch()); }
void BM_MixedBatchCompiled(benchmark::State& state) { run_compiled(state, mixed_batch()); }
void BM_MixedBatchReference(benchmark::State& state) { run_reference(state, mixed_batch()); }

}  // namespace

BENCHMARK(BM_DecodeBatch64Compiled);
BENCHMARK(BM_DecodeBatch64Reference);
BENCHMARK(BM_MixedBatchCompiled);
BENCHMARK(BM_MixedBatchReference);
BENCHMARK(BM_MoeDecodeBatch64Compiled);
BENCHMARK(BM_MoeDecodeBatch64Reference);
BENCHMARK_MAIN();
