#include "sim/serving/disaggregation/kv_transfer.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace kvsim::serving::disaggregation {

KvTransfer kv_transfer(const net::Topology& topology, const std::vector<int>& from,
                       const std::vector<std::int64_t>& shares, const std::vector<int>& to,
                       double bytes) {
  if (!shares.empty() && shares.size() != from.size()) {
    throw std::logic_error("kv_transfer: one share per prefill GPU");
  }
  const double total_share =
      shares.empty() ? static_cast<double>(from.size())
                     : static_cast<double>(std::accumulate(shares.begin(), shares.end(),
                                                           std::int64_t{0}));
  std::vector<double> load(topology.links().size(), 0.0);  // bytes per link
  KvTransfer t;
  t.bytes = bytes;
  for (std::size_t i = 0; i < from.size(); ++i) {
    const double share = shares.empty() ? 1.0 : static_cast<double>(shares[i]);
    const double per_rank = bytes * share / total_share / static_cast<double>(to.size());
    for (const int gpu : to) {
      if (gpu == from[i] || per_rank <= 0) continue;
      const net::Route& route = topology.gpu_route(from[i], gpu);
      t.latency = std::max(t.latency, route.latency);
      for (const int link : route.links) load[static_cast<std::size_t>(link)] += per_rank;
    }
  }
  double seconds = 0;
  for (std::size_t l = 0; l < load.size(); ++l) {
    if (load[l] > 0) seconds = std::max(seconds, load[l] / topology.links()[l].bandwidth);
  }
  t.serialisation = from_seconds_ceil(seconds, "a KV-cache transfer");
  return t;
}

Duration layerwise_end(Duration prefill, const KvTransfer& t, std::int64_t layers) {
  const Duration longer = std::max(prefill, t.serialisation);
  const Duration shorter = std::min(prefill, t.serialisation);
  // Rounded up: the last layer's share of the shorter stage is not cut short.
  return longer + Duration{(shorter.count() + layers - 1) / layers} + t.latency;
}

}  // namespace kvsim::serving::disaggregation
