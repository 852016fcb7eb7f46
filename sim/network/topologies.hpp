#pragma once
// The topology family: presets chosen by "type" in a scenario's cluster.topology, each reading
// its own parameters. Link defaults come from the GPU spec sheet (NVLink, PCIe bandwidth).

#include "models/compute/gpu_spec.hpp"
#include "sim/core/registry.hpp"
#include "sim/network/topology.hpp"

namespace kvsim::net {

using TopologyRegistry = Registry<Topology, const GpuSpec&>;
const TopologyRegistry& topologies();

/// A node named in a scenario: an integer is a GPU index, a string a node name.
int resolve_node(const ConfigNode& node, const Topology& topology);

}  // namespace kvsim::net
