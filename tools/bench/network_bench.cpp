// 1,000 concurrent flows on a 64-GPU multi-node topology (8 servers x 8 GPUs, NVSwitch inside,
// 200 Gb/s NICs between): random pairs, random sizes; each completion starts a new flow, so the
// max-min allocation is recomputed with about 1,000 flows active. Items/s = flows completed/s.
// Arguments: the recomputation (0 incremental, 1 full, in the same run) and where the pairs are
// drawn (0 any two GPUs: most flows cross the NICs and join one large component; 1 inside a
// server: eight components, as tensor-parallel groups' traffic stays). The counter
// flows_recomputed_per_completion is the work each completion costs.
#include <benchmark/benchmark.h>

#include <random>

#include "models/catalog/catalog.hpp"
#include "sim/network/flow_network.hpp"
#include "sim/network/topologies.hpp"

namespace {

struct Churn {
  kvsim::net::FlowNetwork* network;
  bool inside_server = false;
  std::mt19937_64 rng{3};
  void start() {
    const int a = static_cast<int>(rng() % 64);
    const int b = inside_server ? a / 8 * 8 + (a % 8 + 1 + static_cast<int>(rng() % 7)) % 8
                                : (a + 1 + static_cast<int>(rng() % 63)) % 64;
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
  kvsim::net::FlowNetworkOptions options;
  if (state.range(0) == 1) options.recompute = kvsim::net::FlowNetworkOptions::Recompute::kFull;
  kvsim::net::FlowNetwork network(queue, topology, options);
  Churn churn{&network, state.range(1) == 1};
  for (int i = 0; i < 1000; ++i) churn.start();
  queue.run_until(kvsim::SimTime(std::chrono::milliseconds(1)));  // reach steady state
  constexpr std::uint64_t kBatch = 2000;
  const std::uint64_t completed = network.completed_flows();
  const std::uint64_t recomputed = network.flows_recomputed();
  for (auto _ : state) {
    const std::uint64_t target = network.completed_flows() + kBatch;
    while (network.completed_flows() < target) {
      queue.run_until(queue.now() + kvsim::Duration(10'000));
    }
  }
  state.counters["active_flows"] = static_cast<double>(network.active_flows());
  state.counters["flows_recomputed_per_completion"] =
      static_cast<double>(network.flows_recomputed() - recomputed) /
      static_cast<double>(network.completed_flows() - completed);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}

}  // namespace

BENCHMARK(BM_ThousandConcurrentFlowsOn64Gpus)
    ->ArgNames({"full", "inside_server"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
