#pragma once
// Building blocks shared by the topology presets (topologies.cpp: single-server presets and the
// registry; topology_nodes.cpp: multi-node and its node presets). Internal to sim/network.

#include <cstdint>
#include <string>
#include <vector>

#include "models/compute/gpu_spec.hpp"
#include "sim/core/config.hpp"
#include "sim/network/topology.hpp"

namespace kvsim::net::detail {

struct LinkSpec {
  double bandwidth;  // bytes/s
  Duration latency;
};

constexpr Duration kNvlinkHop = std::chrono::nanoseconds(1000);  // per link, GPU to switch
constexpr Duration kPcieHop = std::chrono::nanoseconds(1500);
constexpr Duration kNicHop = std::chrono::nanoseconds(2500);

// Every GPU and link of a topology is built before the first event, so sizes are bounded: a
// fully connected topology has n(n - 1) links.
constexpr std::int64_t kMaxGpus = 4096;

// Reads an optional {"bandwidth": "300GB/s", "latency": "1us"} object over defaults.
LinkSpec read_link(const ConfigNode& parent, const std::string& key, LinkSpec fallback);

// Adds `count` GPUs, read from n[key]; refuses more than `max`.
std::vector<int> add_gpus(Topology& t, const ConfigNode& n, const std::string& key,
                          std::int64_t count, std::int64_t max = kMaxGpus);

// One NVSwitch named `name` joining `gpus`, each by `link`.
void add_nvswitch(Topology& t, const std::vector<int>& gpus, const std::string& name,
                  LinkSpec link);

// The presets built in topology_nodes.cpp.
Topology xgmi_mesh(const ConfigNode& n, const GpuSpec& gpu);
Topology nvl72(const ConfigNode& n, const GpuSpec& gpu);
Topology multi_node(const ConfigNode& n, const GpuSpec& gpu);

}  // namespace kvsim::net::detail
