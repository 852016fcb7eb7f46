#pragma once
// Internal to sim/compare: benchmark requests predicted by the serving simulation of a
// scenario's "serving" section, alone or replayed as the benchmark sent them.

#include <string>
#include <vector>

#include "sim/compare/compare.hpp"

namespace kvsim::compare {

/// The scenario with one point's model, GPU, attention and precision (weights, activations and
/// KV cache alike) set.
Json point_scenario(const ConfigDocument& base, const MeasuredPoint& p);

/// Loads `j` as a scenario named after `base` and the point it is for.
Scenario load_point(const ConfigDocument& base, Json j, const std::string& what);

/// One simulated request's latencies, seconds from its arrival.
struct SimulatedRequest {
  double ttft = 0;
  double e2e = 0;
  std::vector<double> itls;  // gaps between successive tokens
  std::int64_t output = 0;   // tokens generated
  bool served = false;       // false: the server never finished it (e.g. it rejected it)
};

/// Runs `workload` on the "serving" section of `j` (which it must have); by request id.
std::vector<SimulatedRequest> simulate_requests(const ConfigDocument& base, Json j,
                                                const Json& workload, const std::string& what);

/// Each request of a benchmark result alone on an idle server of the scenario's serving layout.
Comparison requests_alone(const ConfigDocument& base, const Measurements& measured,
                          double overhead_ms);

/// Every request of a benchmark result replayed through the serving simulation as the client
/// sent them; warnings say what the replay could not reproduce.
Comparison replay(const ConfigDocument& base, const Measurements& measured, double overhead_ms);

}  // namespace kvsim::compare
