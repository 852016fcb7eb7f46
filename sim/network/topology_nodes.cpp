// Multi-node clusters and the node presets they can be built from: an HGX/DGX server's
// NVSwitch, an AMD XGMI full mesh, an NVL72 rack; the NIC fabric presets between nodes.
#include "sim/network/topologies.hpp"
#include "sim/network/topology_parts.hpp"

#include <fmt/format.h>

namespace kvsim::net {
namespace detail {
namespace {

// Fabric presets of multi-node: one NIC per GPU, its link at the rate NCCL achieves on it
// (the NIC-to-fabric link is the bottleneck of every cross-node route, so that rate is what a
// message gets).
//  - rail-400g-rdma: 400 Gb/s InfiniBand NDR / RoCE per GPU (DGX H100's ConnectX-7 rails). NCCL
//    over RDMA reaches about 97.6% of line rate: 12.2 GB/s on a 100 Gb/s card is "as good as
//    you can get" (NCCL maintainer, github.com/NVIDIA/nccl-tests/issues/29): 48.8 GB/s.
//  - frontend-100g-tcp: a 100 Gb/s Ethernet front-end per GPU used through NCCL's TCP socket
//    transport, which reaches well under half of line rate: 4-6 GB/s all-reduce bus bandwidth
//    on 100 Gb/s TCP at best (github.com/NVIDIA/nccl/issues/450), at most 60% of wire speed on
//    32 Gb/s (github.com/NVIDIA/nccl/issues/209). kvsim takes 40%: 5 GB/s.
//  - custom (default): the "nic" link as given (200 Gb/s if not).
LinkSpec fabric_nic(const ConfigNode& n, std::int64_t per_node, std::int64_t nics) {
  const std::string fabric =
      n.one_of_or("fabric", "custom", {"custom", "rail-400g-rdma", "frontend-100g-tcp"});
  if (fabric == "custom") return {200e9 / 8, kNicHop};  // 200 Gb/s InfiniBand HDR
  if (n.has("nic")) {
    n.at("nic").fail(fmt::format("\"fabric\": \"{}\" sets the NIC link; give \"nic\" only with "
                                 "\"fabric\": \"custom\"", fabric));
  }
  if (nics != per_node) {
    n.at("nics_per_node").fail(fmt::format("\"fabric\": \"{}\" has one NIC per GPU ({} per "
                                           "node)", fabric, per_node));
  }
  if (fabric == "rail-400g-rdma") return {400e9 / 8 * 0.976, kNicHop};
  // 25us: a kernel TCP stack per message, assumed (no measurement of it here).
  return {100e9 / 8 * 0.40, std::chrono::microseconds(25)};
}

// --- Node presets: an AMD XGMI mesh and an NVL72 rack (multi-node takes either as its node).

// Every pair of `gpus` joined by a link of its own (AMD's 8-GPU platforms: 7 XGMI links per GPU,
// one to each peer), so a group of k GPUs reaches each peer over one link only: a 2-GPU
// all-reduce sees one 64 GB/s link, not the node's 448 GB/s per GPU.
void add_mesh(Topology& t, const std::vector<int>& gpus, LinkSpec link) {
  for (std::size_t a = 0; a < gpus.size(); ++a) {
    for (std::size_t b = a + 1; b < gpus.size(); ++b) {
      t.add_duplex(gpus[a], gpus[b], link.bandwidth, link.latency);
    }
  }
}

constexpr std::int64_t kMeshGpus = 8;    // an XGMI platform: 8 GPUs, 7 links each
constexpr std::int64_t kNvl72Gpus = 72;  // one NVLink domain
constexpr double kNvlink5 = 900e9;       // bytes/s each way per GPU (1.8 TB/s both ways)

// The mesh link from the GPU spec (mesh_link_bandwidth) unless `key` gives one.
LinkSpec mesh_link(const ConfigNode& n, const std::string& key, const GpuSpec& gpu) {
  if (gpu.mesh_link_bandwidth <= 0 && !n.has(key)) {
    n.fail(fmt::format("{} has no point-to-point mesh links in the GPU catalog "
                       "(mesh_link_bandwidth; mi300x, mi325x and mi355x do): give \"{}\": "
                       "{{\"bandwidth\": ...}} to model one anyway",
                       gpu.name, key));
  }
  return read_link(n, key, {gpu.mesh_link_bandwidth, kNvlinkHop});
}

// NVLink 5 from the GPU spec unless `key` gives a link: an NVL72 rack holds no other GPU.
LinkSpec nvl72_link(const ConfigNode& n, const std::string& key, const GpuSpec& gpu) {
  if (gpu.nvlink_bandwidth < kNvlink5 && !n.has(key)) {
    n.fail(fmt::format("an NVL72 rack joins NVLink 5 GPUs (900 GB/s each way: gb200, b200, "
                       "b300); {} has {:.0f} GB/s: give \"{}\": {{\"bandwidth\": ...}} to model "
                       "it anyway",
                       gpu.name, gpu.nvlink_bandwidth * 1e-9, key));
  }
  return read_link(n, key, {gpu.nvlink_bandwidth, kNvlinkHop});
}

// One multi-node node's scale-up fabric: "nvswitch" (an HGX/DGX server), "xgmi-mesh" or "nvl72".
void add_node_fabric(Topology& t, const ConfigNode& n, const std::string& kind,
                     const std::vector<int>& gpus, std::int64_t index, const GpuSpec& gpu) {
  if (kind == "xgmi-mesh") return add_mesh(t, gpus, mesh_link(n, "nvlink", gpu));
  const LinkSpec link = kind == "nvl72" ? nvl72_link(n, "nvlink", gpu)
                                        : read_link(n, "nvlink", {gpu.nvlink_bandwidth, kNvlinkHop});
  add_nvswitch(t, gpus, fmt::format("n{}.nvswitch", index), link);
}

}  // namespace

Topology xgmi_mesh(const ConfigNode& n, const GpuSpec& gpu) {
  Topology t;
  const auto gpus = add_gpus(t, n, "gpus", n.count_or("gpus", kMeshGpus), kMeshGpus);
  add_mesh(t, gpus, mesh_link(n, "link", gpu));
  return t;
}

Topology nvl72(const ConfigNode& n, const GpuSpec& gpu) {
  Topology t;
  const auto gpus = add_gpus(t, n, "gpus", n.count_or("gpus", kNvl72Gpus), kNvl72Gpus);
  add_nvswitch(t, gpus, "nvlink-switch", nvl72_link(n, "link", gpu));
  return t;
}

Topology multi_node(const ConfigNode& n, const GpuSpec& gpu) {
  Topology t;
  const std::int64_t nodes = n.count("nodes");
  const std::string node_kind = n.one_of_or("node", "nvswitch", {"nvswitch", "xgmi-mesh", "nvl72"});
  const std::int64_t per_node =
      n.count_or("gpus_per_node", node_kind == "nvl72" ? kNvl72Gpus : 8);
  const std::int64_t node_max = node_kind == "nvl72"       ? kNvl72Gpus
                                : node_kind == "xgmi-mesh" ? kMeshGpus
                                                           : kMaxGpus;
  if (per_node > node_max) {
    n.at("gpus_per_node").fail(fmt::format("a {} node holds at most {} GPUs", node_kind,
                                           node_max));
  }
  const std::int64_t nics = n.count_or("nics_per_node", per_node);
  if (nodes > kMaxGpus / per_node) {
    n.at("nodes").fail(fmt::format("{} nodes of {} GPUs is more than kvsim models (at most {} "
                                   "GPUs)",
                                   nodes, per_node, kMaxGpus));
  }
  if (nics > per_node) {
    n.at("nics_per_node").fail(fmt::format("{} NICs for {} GPUs per node: at most one per GPU",
                                           nics, per_node));
  }
  const LinkSpec pcie = read_link(n, "pcie", {gpu.pcie_bandwidth, kPcieHop});
  const LinkSpec nic = read_link(n, "nic", fabric_nic(n, per_node, nics));
  std::vector<std::vector<int>> gpus;
  for (std::int64_t s = 0; s < nodes; ++s) gpus.push_back(add_gpus(t, n, "gpus_per_node", per_node));
  const int fabric = t.add_node("fabric", NodeKind::kNetworkSwitch);
  for (std::int64_t s = 0; s < nodes; ++s) {
    add_node_fabric(t, n, node_kind, gpus[s], s, gpu);
    std::vector<int> nic_ids;
    for (std::int64_t k = 0; k < nics; ++k) {
      nic_ids.push_back(t.add_node(fmt::format("n{}.nic{}", s, k), NodeKind::kNic));
      t.add_duplex(nic_ids.back(), fabric, nic.bandwidth, nic.latency);
    }
    for (std::int64_t g = 0; g < per_node; ++g) {
      t.add_duplex(gpus[s][g], nic_ids[g % nics], pcie.bandwidth, pcie.latency);
    }
  }
  return t;
}

}  // namespace detail

namespace {

// RCCL's all-reduce on 8 x MI300X reaches 317 GB/s bus bandwidth at 8 GB (shared/data/gpus.md,
// from stas00/ml-engineering network/README.md); the mesh algorithm's bus bandwidth is
// (p - 1) x link x efficiency = 7 x 64 GB/s x efficiency for large messages, so RCCL achieves
// 317 / 448 of the links. The 2-GPU figure (47.7 GB/s at 4 GiB, one link) is left for checking:
// 64 x 317 / 448 = 45.3 GB/s, 5% under it (tests/network/node_presets_test.cpp).
constexpr double kRcclMeshEfficiency = 317.0 / 448.0;

bool mesh_node(const ConfigNode& topology) {
  return topology.string_or("type", "") == "xgmi-mesh";
}

}  // namespace

CollectiveConfig default_collectives(const ConfigNode& topology) {
  CollectiveConfig c;
  if (!mesh_node(topology)) return c;
  c.algorithm = CollectiveAlgorithm::kMesh;
  c.protocols = {Protocol("rccl-mesh", Duration{0}, kRcclMeshEfficiency)};
  return c;
}

std::string mesh_collective_warning(const ConfigNode& topology,
                                    const CollectiveConfig& collectives, const GpuSpec& gpu) {
  const std::string type = topology.string_or("type", "");
  const bool mesh_nodes = type == "multi-node" && topology.string_or("node", "") == "xgmi-mesh";
  const bool wide_mesh =
      mesh_node(topology) && topology.count_or("gpus", detail::kMeshGpus) > 2;
  if (collectives.algorithm == CollectiveAlgorithm::kMesh || (!mesh_nodes && !wide_mesh)) {
    return "";
  }
  return fmt::format(
      "{}: at {}: on an XGMI mesh the {} collectives use one link per GPU (direct's one-shot "
      "all-reduce sends the whole buffer to each peer), so an all-reduce among more than 2 GPUs "
      "is priced far under RCCL's, which spreads it over all the group's links (8 x MI300X: "
      "about 317 GB/s bus bandwidth measured, shared/data/gpus.md, against {:.0f} GB/s a ring "
      "gets from one link){}. 2-GPU groups are exact",
      topology.file(), topology.pointer(), to_string(collectives.algorithm),
      gpu.mesh_link_bandwidth * 1e-9,
      mesh_nodes ? "; multi-node keeps the ring by default, as the mesh algorithm's all-pairs "
                   "steps would cross the NICs"
                 : "; \"collectives\": {\"algorithm\": \"mesh\"} (the default here) prices it "
                   "as RCCL runs it");
}

}  // namespace kvsim::net
