#pragma once
// Uneven networks, all from the scenario and its seed.
//
// Static heterogeneity changes link bandwidths before the simulation (a family chosen by
// "type": scale named links, slow random links, draw every link from a distribution).
// Background ("side-car") traffic is dynamic: flows between named endpoints that switch on and
// off on a schedule or at random and compete for bandwidth, as in the KV-Runahead paper's noisy
// network experiment.

#include <memory>
#include <vector>

#include "sim/core/random.hpp"
#include "sim/core/registry.hpp"
#include "sim/network/flow_network.hpp"

namespace kvsim::net {

class Heterogeneity {
 public:
  virtual ~Heterogeneity() = default;
  /// Changes link bandwidths; may draw from `random` (a stream named for this entry).
  virtual void apply(Topology& topology, RandomEngine& random) const = 0;
};

using HeterogeneityRegistry = Registry<std::unique_ptr<Heterogeneity>, const Topology&>;
const HeterogeneityRegistry& heterogeneities();

/// One background flow and when it is on.
struct BackgroundFlowSpec {
  int from = 0;  // nodes
  int to = 0;
  double rate_cap = FlowNetwork::kUnlimited;  // bytes/s
  std::vector<std::pair<SimTime, SimTime>> windows;  // fixed on-periods [start, end)
  Duration mean_on{0};   // random on/off periods (exponential) when > 0
  Duration mean_off{0};
  Duration start_delay{0};
};

BackgroundFlowSpec parse_background_flow(const ConfigNode& node, const Topology& topology);
Json to_json(const BackgroundFlowSpec& spec, const Topology& topology);

/// Drives background flows on a network for the length of one simulation.
class BackgroundTraffic {
 public:
  BackgroundTraffic(FlowNetwork& network, std::vector<BackgroundFlowSpec> specs,
                    const RandomStreams& random);
  /// Schedules the first on/off switches; call once before running the queue.
  void start();

 private:
  struct State {
    BackgroundFlowSpec spec;
    RandomEngine random;
    std::size_t window = 0;
    FlowId flow = 0;
    bool on = false;
  };
  void switch_on(std::uint32_t i);
  void switch_off(std::uint32_t i);
  Duration draw(std::uint32_t i, Duration mean);

  FlowNetwork& network_;
  std::vector<State> states_;
};

}  // namespace kvsim::net
