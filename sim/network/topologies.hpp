#pragma once
// The topology family: presets chosen by "type" in a scenario's cluster.topology, each reading
// its own parameters. Link defaults come from the GPU spec sheet (NVLink, PCIe bandwidth).

#include "models/compute/gpu_spec.hpp"
#include "sim/core/registry.hpp"
#include "sim/network/topology.hpp"

namespace kvsim::net {

using TopologyRegistry = Registry<Topology, const GpuSpec&>;
const TopologyRegistry& topologies();

/// A load-time warning (Scenario::warnings) for collectives on an XGMI mesh (`topology`: the
/// scenario's cluster.topology section), or "" where there is none: kvsim's ring collectives
/// use one link per GPU, which a mesh group of more than 2 GPUs far exceeds.
std::string mesh_collective_warning(const ConfigNode& topology, const GpuSpec& gpu);

/// A node named in a scenario: an integer is a GPU index, a string a node name.
int resolve_node(const ConfigNode& node, const Topology& topology);

}  // namespace kvsim::net
