// One KV-Runahead TTFT evaluation (the inner loop of the partition search): Llama-2-7B, 8 GPUs
// on an NVSwitch at 300 GB/s, 16k tokens, even split; event-driven flows and closed form.
#include <benchmark/benchmark.h>

#include "models/catalog/catalog.hpp"
#include "models/compute/roofline.hpp"
#include "sim/network/topologies.hpp"
#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/impl/synchronous.hpp"
#include "sim/prefill/partitioner.hpp"

namespace {

struct Setup {
  kvsim::LlmSpec model = kvsim::catalog::llm("llama-2-7b");
  kvsim::RooflineModel compute{kvsim::catalog::gpu("a100-sxm4-80gb"), {}};
  kvsim::net::Topology topology;
  kvsim::prefill::PrefillSetup setup;
  Setup() {
    const kvsim::Json spec{{"type", "nvswitch"}, {"gpus", 8}};
    topology = kvsim::net::topologies().create(
        kvsim::ConfigNode(&spec, "bench", kvsim::Json::json_pointer()),
        kvsim::catalog::gpu("a100-sxm4-80gb"));
    setup.model = &model;
    setup.compute = &compute;
    setup.context_tokens = 16384;
    setup.topology = &topology;
    setup.gpus = {0, 1, 2, 3, 4, 5, 6, 7};
  }
};

void BM_KvrTtftEventDriven(benchmark::State& state) {
  const Setup s;
  const auto parts = kvsim::prefill::even_partition(16384, 8);
  for (auto _ : state) {
    benchmark::DoNotOptimize(kvsim::prefill::simulate_kvr(s.setup, parts, {}, false).ttft);
  }
}

void BM_KvrTtftClosedForm(benchmark::State& state) {
  const Setup s;
  const auto parts = kvsim::prefill::even_partition(16384, 8);
  for (auto _ : state) {
    benchmark::DoNotOptimize(kvsim::prefill::kvr_closed_form_ttft(s.setup, parts, true));
  }
}

void BM_TspTtftEventDriven(benchmark::State& state) {
  const Setup s;
  const kvsim::prefill::TspStrategy tsp(false);
  for (auto _ : state) benchmark::DoNotOptimize(tsp.run(s.setup, false).ttft);
}

}  // namespace

BENCHMARK(BM_KvrTtftEventDriven)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_KvrTtftClosedForm)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TspTtftEventDriven)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
