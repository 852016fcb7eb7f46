#include "sim/network/topology_parts.hpp"

#include <fmt/format.h>

namespace kvsim::net::detail {

LinkSpec read_link(const ConfigNode& parent, const std::string& key, LinkSpec fallback) {
  const auto node = parent.find(key);
  if (!node) return fallback;
  if (const auto bw = node->find("bandwidth")) {
    fallback.bandwidth = bw->as_bandwidth();
    if (fallback.bandwidth <= 0) bw->fail("bandwidth must be positive");
  }
  if (const auto lat = node->find("latency")) fallback.latency = lat->as_duration();
  node->finish();
  return fallback;
}

std::vector<int> add_gpus(Topology& t, const ConfigNode& n, const std::string& key,
                          std::int64_t count, std::int64_t max) {
  if (count > max) {
    n.at(key).fail(fmt::format("{} GPUs is more than this topology type models (at most {}{})",
                               count, max,
                               max < kMaxGpus ? "; use nvswitch or multi-node for more" : ""));
  }
  std::vector<int> ids;
  for (std::int64_t i = 0; i < count; ++i) ids.push_back(t.add_gpu());
  return ids;
}

void add_nvswitch(Topology& t, const std::vector<int>& gpus, const std::string& name,
                  LinkSpec link) {
  const int sw = t.add_node(name, NodeKind::kNvSwitch);
  for (const int g : gpus) t.add_duplex(g, sw, link.bandwidth, link.latency);
}

}  // namespace kvsim::net::detail
