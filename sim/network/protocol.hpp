#pragma once
// A collective protocol's costs: what a collective or a point-to-point message pays on top of
// moving its bytes over the routes. Read from a scenario's "collectives" (or a fitted profile),
// used by collectives.hpp's closed forms and CollectiveEngine, and by MessageChannel.
//
// Fixed cost, one of two forms:
//  - `step_latency`: the same cost before every step (a ring all-reduce over p GPUs pays it
//    2(p-1) times). The form of hand-written scenarios and of the nccl-dgx-* profiles.
//  - `latency_by_gpus`: the measured fixed cost of a ring all-reduce by participant count, beyond
//    its routes' latencies ({2: 40us, 4: 30us, 8: 35us}), interpolated linearly between measured
//    counts. Real small-message all-reduce does not grow as 2(p-1) per-step costs (NCCL's
//    launch, proxy and synchronisation costs dominate), so a per-step constant cannot fit
//    2 and 8 GPUs at once. A collective of n steps among p GPUs pays table(p) x n / (2(p-1)),
//    so a ring all-gather (p-1 steps) pays half an all-reduce's. Beyond the measured counts the
//    nearest measured count's cost per step is carried (the ring form); collective_warnings()
//    says so at scenario load.
// Efficiency: the fraction of a route's bottleneck bandwidth a transfer achieves, one number or
// one per link kind (NVLink, PCIe, network): a transfer uses the efficiency of its route's
// bottleneck link's kind. Times in Duration (integer ns), bandwidth fractions in (0, 1].

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/network/topology.hpp"

namespace kvsim::net {

struct GpuLatency {
  int gpus = 0;
  Duration latency{0};
};

struct Protocol {
  Protocol() = default;
  /// The step_latency form, one efficiency on every link kind.
  Protocol(std::string protocol_name, Duration fixed_per_step = Duration{0}, double fraction = 1.0)
      : name(std::move(protocol_name)), step_latency(fixed_per_step), efficiency(fraction) {}

  std::string name = "simple";
  Duration step_latency{0};  // fixed cost per step (kernel launch, synchronisation)
  double efficiency = 1.0;   // fraction of link bandwidth the protocol achieves
  /// Measured all-reduce fixed cost by GPU count, strictly increasing counts; empty: the
  /// step_latency form.
  std::vector<GpuLatency> latency_by_gpus;
  /// Efficiency per LinkKind (indexed by it); 0: `efficiency`.
  std::array<double, kLinkKinds> efficiency_by_link{};

  /// The efficiency of a transfer whose route's bottleneck link is of `kind`.
  double efficiency_on(LinkKind kind) const;
  bool per_link_efficiency() const;
  /// The efficiency of a flow from one GPU to another on `topology`: of its route's bottleneck
  /// kind (no route lookup when one efficiency serves every kind). For callers that start flows.
  double efficiency_between(const Topology& topology, int from_gpu, int to_gpu) const;
  /// Fixed cost of a collective of `steps` steps among `gpus` participants (0 when steps is 0).
  Duration fixed_cost(int steps, int gpus) const;
  /// The all-reduce fixed cost table interpolated at `gpus` (needs a table; gpus >= 2).
  Duration all_reduce_latency(int gpus) const;

  /// Reads {"name", "step_latency" | "latency_by_gpus": [{"gpus", "latency"}],
  ///        "efficiency": x | {"nvlink": x, "pcie": x, "network": x}}; `default_name` when absent.
  static Protocol from_config(const ConfigNode& node, const std::string& default_name);
  Json to_json() const;  // without "name" (the caller adds it where it belongs)
};

}  // namespace kvsim::net
