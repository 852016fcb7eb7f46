// 1,000 concurrent flows on a 64-GPU multi-node topology (8 servers x 8 GPUs, NVSwitch inside,
// 200 Gb/s NICs between): random pairs, random sizes; each completion starts a new flow, so the
// max-min allocation is recomputed with about 1,000 flows active. Items/s = flows completed/s.
#include <benchmark/benchmark.h>

#include <random>

#include "models/catalog/catalog.hpp"
#include "sim/network/flow_network.hpp"
#include "sim/network/topologies.hpp"

namespace {

struct Churn {
  kvsim::net::FlowNetwork* network;
  std::mt19937_64 rng{3};
  void start() {
    const int a = static_cast<int>(rng() % 64);
    const int b = (a + 1 + static_cast<int>(rng() % 63)) % 64;
    const double bytes = 1e6 * static_cast<double>(1 + rng() % 64);
    network->start_between_gpus(a, b, bytes, [this] { start(); });
  }
};

void BM_ThousandConcurrentFlowsOn64Gpus(benchmark::State& state) {
  const kvsim::Json spec{{"type", "multi-node"}, {"nodes", 8}, {"gpus_per_node", 8}};
  const kvsim::net::Topology topology = kvsim::net::topologies().create(
      kvsim::ConfigNode(&spec, "bench", kvsim::Json::json_pointer()),
      kvsim::catalog::gpu("h100-sxm"));
  kvsim::EventQueue queue;
  kvsim::net::FlowNetwork network(queue, topology);
  Churn churn{&network};
  for (int i = 0; i < 1000; ++i) churn.start();
  queue.run_until(kvsim::SimTime(std::chrono::milliseconds(1)));  // reach steady state
  constexpr std::uint64_t kBatch = 2000;
  for (auto _ : state) {
    const std::uint64_t target = network.completed_flows() + kBatch;
    while (network.completed_flows() < target) {
      queue.run_until(queue.now() + kvsim::Duration(10'000));
    }
  }
  state.counters["active_flows"] = static_cast<double>(network.active_flows());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}

}  // namespace

BENCHMARK(BM_ThousandConcurrentFlowsOn64Gpus)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
