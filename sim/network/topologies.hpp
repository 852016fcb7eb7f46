#pragma once
// The topology family: presets chosen by "type" in a scenario's cluster.topology, each reading
// its own parameters. Link defaults come from the GPU spec sheet (NVLink, PCIe bandwidth).

#include "models/compute/gpu_spec.hpp"
#include "sim/core/registry.hpp"
#include "sim/network/collectives.hpp"
#include "sim/network/topology.hpp"

namespace kvsim::net {

using TopologyRegistry = Registry<Topology, const GpuSpec&>;
const TopologyRegistry& topologies();

/// The collectives of a scenario on `topology` (its cluster.topology section) that gives no
/// cluster.collectives: on the xgmi-mesh preset, the mesh algorithm (every link of the group at
/// once) at RCCL's measured share of the links; elsewhere CollectiveConfig{} (ring, full
/// bandwidth).
CollectiveConfig default_collectives(const ConfigNode& topology);

/// A load-time warning (Scenario::warnings) for `collectives` on an XGMI mesh, or "" where
/// there is none: ring, tree and direct all-reduces use one link per GPU (or send the whole
/// buffer to each peer), which a mesh group of more than 2 GPUs far exceeds; multi-node with
/// mesh nodes keeps the ring (the mesh algorithm's all-pairs steps would cross the NICs).
std::string mesh_collective_warning(const ConfigNode& topology,
                                    const CollectiveConfig& collectives, const GpuSpec& gpu);

/// A node named in a scenario: an integer is a GPU index, a string a node name.
int resolve_node(const ConfigNode& node, const Topology& topology);

}  // namespace kvsim::net
