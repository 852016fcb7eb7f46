#include "sim/network/topologies.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace kvsim::net {
namespace {

struct LinkSpec {
  double bandwidth;  // bytes/s
  Duration latency;
};

// Reads an optional {"bandwidth": "300GB/s", "latency": "1us"} object over defaults.
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

constexpr Duration kNvlinkHop = std::chrono::nanoseconds(1000);  // per link, GPU to switch
constexpr Duration kPcieHop = std::chrono::nanoseconds(1500);
constexpr Duration kNicHop = std::chrono::nanoseconds(2500);

// Every GPU and link of a topology is built before the first event, so sizes are bounded: a
// fully connected topology has n(n - 1) links.
constexpr std::int64_t kMaxGpus = 4096;
constexpr std::int64_t kMaxFullyConnectedGpus = 256;

// Adds `count` GPUs, read from n[key]; refuses more than `max`.
std::vector<int> add_gpus(Topology& t, const ConfigNode& n, const std::string& key,
                          std::int64_t count, std::int64_t max = kMaxGpus) {
  if (count > max) {
    n.at(key).fail(fmt::format("{} GPUs is more than this topology type models (at most {}{})",
                               count, max,
                               max < kMaxGpus ? "; use nvswitch or multi-node for more" : ""));
  }
  std::vector<int> ids;
  for (std::int64_t i = 0; i < count; ++i) ids.push_back(t.add_gpu());
  return ids;
}

Topology fully_connected(const ConfigNode& n, const GpuSpec& gpu) {
  Topology t;
  const auto gpus = add_gpus(t, n, "gpus", n.count("gpus"), kMaxFullyConnectedGpus);
  const LinkSpec link = read_link(n, "link", {gpu.nvlink_bandwidth, kNvlinkHop});
  for (std::size_t a = 0; a < gpus.size(); ++a) {
    for (std::size_t b = a + 1; b < gpus.size(); ++b) {
      t.add_duplex(gpus[a], gpus[b], link.bandwidth, link.latency);
    }
  }
  return t;
}

Topology ring(const ConfigNode& n, const GpuSpec& gpu) {
  Topology t;
  const auto gpus = add_gpus(t, n, "gpus", n.count("gpus", 2));
  const LinkSpec link = read_link(n, "link", {gpu.nvlink_bandwidth, kNvlinkHop});
  const bool both = n.boolean_or("bidirectional", true);
  const std::size_t p = gpus.size();
  for (std::size_t i = 0; i < p; ++i) {
    const int next = gpus[(i + 1) % p];
    if (p == 2 && i == 1 && both) break;  // two GPUs: one duplex pair is the ring
    if (both) {
      t.add_duplex(gpus[i], next, link.bandwidth, link.latency);
    } else {
      t.add_link(gpus[i], next, link.bandwidth, link.latency);
    }
  }
  return t;
}

void add_nvswitch(Topology& t, const std::vector<int>& gpus, const std::string& name,
                  LinkSpec link) {
  const int sw = t.add_node(name, NodeKind::kNvSwitch);
  for (const int g : gpus) t.add_duplex(g, sw, link.bandwidth, link.latency);
}

Topology nvswitch(const ConfigNode& n, const GpuSpec& gpu) {
  Topology t;
  const auto gpus = add_gpus(t, n, "gpus", n.count_or("gpus", 8));
  add_nvswitch(t, gpus, "nvswitch", read_link(n, "link", {gpu.nvlink_bandwidth, kNvlinkHop}));
  return t;
}

// GPUs under PCIe switches, the switches under one host (CPU root complex).
void add_pcie_tree(Topology& t, const std::vector<int>& gpus, std::int64_t per_switch,
                   LinkSpec link, LinkSpec host_link) {
  const int host = t.add_node("host", NodeKind::kHost);
  int sw = -1;
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    if (i % static_cast<std::size_t>(per_switch) == 0) {
      sw = t.add_node(fmt::format("pcie{}", i / per_switch), NodeKind::kPcieSwitch);
      t.add_duplex(sw, host, host_link.bandwidth, host_link.latency);
    }
    t.add_duplex(gpus[i], sw, link.bandwidth, link.latency);
  }
}

Topology pcie_switch(const ConfigNode& n, const GpuSpec& gpu) {
  Topology t;
  const auto gpus = add_gpus(t, n, "gpus", n.count("gpus"));
  const std::int64_t per = n.count_or("gpus_per_switch", static_cast<std::int64_t>(gpus.size()));
  const LinkSpec link = read_link(n, "link", {gpu.pcie_bandwidth, kPcieHop});
  add_pcie_tree(t, gpus, per, link, read_link(n, "host_link", link));
  return t;
}

Topology pairwise_nvlink(const ConfigNode& n, const GpuSpec& gpu) {
  Topology t;
  const auto gpus = add_gpus(t, n, "gpus", n.count("gpus", 2));
  if (gpus.size() % 2 != 0) n.at("gpus").fail("pairwise-nvlink needs an even number of GPUs");
  const LinkSpec nvlink = read_link(n, "nvlink", {gpu.nvlink_bandwidth, kNvlinkHop});
  const LinkSpec pcie = read_link(n, "pcie", {gpu.pcie_bandwidth, kPcieHop});
  for (std::size_t i = 0; i + 1 < gpus.size(); i += 2) {
    t.add_duplex(gpus[i], gpus[i + 1], nvlink.bandwidth, nvlink.latency);
  }
  add_pcie_tree(t, gpus, n.count_or("gpus_per_switch", 2), pcie, pcie);
  return t;
}

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

// One multi-node node's scale-up fabric: "nvswitch" (an HGX/DGX server), "xgmi-mesh" or "nvl72".
void add_node_fabric(Topology& t, const ConfigNode& n, const std::string& kind,
                     const std::vector<int>& gpus, std::int64_t index, const GpuSpec& gpu) {
  if (kind == "xgmi-mesh") return add_mesh(t, gpus, mesh_link(n, "nvlink", gpu));
  const LinkSpec link = kind == "nvl72" ? nvl72_link(n, "nvlink", gpu)
                                        : read_link(n, "nvlink", {gpu.nvlink_bandwidth, kNvlinkHop});
  add_nvswitch(t, gpus, fmt::format("n{}.nvswitch", index), link);
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

Topology explicit_topology(const ConfigNode& n, const GpuSpec&) {
  Topology t;
  static const std::vector<std::string> kKinds{"gpu",  "nvswitch",       "pcie-switch",
                                               "nic",  "network-switch", "host"};
  for (const ConfigNode& node : n.at("nodes").elements()) {
    const std::string kind = node.one_of("kind", kKinds);
    const std::string name = node.string("name");
    if (t.find_node(name) >= 0) node.at("name").fail(fmt::format("duplicate node '{}'", name));
    if (kind == "gpu") {
      node.at("name").fail("GPUs are added with \"gpus\": N and named gpu0, gpu1, ...");
    }
    const auto k = static_cast<NodeKind>(
        std::find(kKinds.begin(), kKinds.end(), kind) - kKinds.begin());
    node.finish();
    t.add_node(name, k);
  }
  // GPUs after the named nodes keep gpu indices 0..n-1 in order.
  add_gpus(t, n, "gpus", n.count("gpus"));
  for (const ConfigNode& link : n.at("links").elements()) {
    const int from = resolve_node(link.at("from"), t);
    const int to = resolve_node(link.at("to"), t);
    if (from == to) link.fail("a link needs two different endpoints");
    const double bw = link.at("bandwidth").as_bandwidth();
    if (bw <= 0) link.at("bandwidth").fail("bandwidth must be positive");
    const Duration lat = link.has("latency") ? link.at("latency").as_duration() : kNvlinkHop;
    if (link.boolean_or("duplex", true)) {
      t.add_duplex(from, to, bw, lat);
    } else {
      t.add_link(from, to, bw, lat);
    }
    link.finish();
  }
  return t;
}

}  // namespace

std::string mesh_collective_warning(const ConfigNode& topology, const GpuSpec& gpu) {
  const std::string type = topology.string_or("type", "");
  const bool mesh_nodes = type == "multi-node" && topology.string_or("node", "") == "xgmi-mesh";
  if (!mesh_nodes && !(type == "xgmi-mesh" && topology.count_or("gpus", kMeshGpus) > 2)) {
    return "";
  }
  return fmt::format(
      "{}: at {}: on an XGMI mesh kvsim's ring collectives use one link per GPU, so a "
      "collective among more than 2 GPUs is priced at one {:.0f} GB/s link's pace, while RCCL "
      "spreads it over all the group's links (8 x MI300X all-reduce: about 317 GB/s bus "
      "bandwidth measured, shared/data/gpus.md); the direct algorithm (\"collectives\": "
      "{{\"algorithm\": \"direct\"}}) uses every link for all-gather, reduce-scatter and "
      "all-to-all, but its one-shot all-reduce sends the whole buffer to each peer. 2-GPU "
      "groups are exact",
      topology.file(), topology.pointer(), gpu.mesh_link_bandwidth * 1e-9);
}

int resolve_node(const ConfigNode& node, const Topology& topology) {
  if (node.json().is_number()) {
    const std::int64_t gpu = node.as_integer();
    if (gpu < 0 || gpu >= topology.gpu_count()) {
      node.fail(fmt::format("GPU index {} is out of range: the topology has GPUs 0..{}", gpu,
                            topology.gpu_count() - 1));
    }
    return topology.gpu_node(static_cast<int>(gpu));
  }
  const std::string name = node.as_string();
  const int id = topology.find_node(name);
  if (id < 0) {
    std::vector<std::string> names;
    for (int i = 0; i < topology.node_count(); ++i) names.push_back(topology.node(i).name);
    node.fail(fmt::format("unknown node '{}'; {}", name, valid_values_hint(name, names)));
  }
  return id;
}

const TopologyRegistry& topologies() {
  static const TopologyRegistry registry = [] {
    TopologyRegistry r("topology", "how GPUs, switches and NICs are joined");
    const ParamDoc link{"link", "{bandwidth, latency}", "GPU NVLink bandwidth, 1us",
                        "every link's bandwidth (per direction) and latency"};
    r.add("fully-connected", "one duplex link between every pair of GPUs",
          {{"gpus", "count", "", "number of GPUs"}, link}, fully_connected);
    r.add("ring", "GPU i linked to GPU i+1, the last to the first",
          {{"gpus", "count", "", "number of GPUs (at least 2)"},
           link,
           {"bidirectional", "bool", "true", "links in both directions"}},
          ring);
    r.add("nvswitch",
          "every GPU to one switch plane (DGX-A100: 300 GB/s, DGX-H100: 450 GB/s per direction)",
          {{"gpus", "count", "8", "number of GPUs"}, link}, nvswitch);
    r.add("pcie-switch", "GPUs under PCIe switches joined through the host",
          {{"gpus", "count", "", "number of GPUs"},
           {"gpus_per_switch", "count", "all", "GPUs under each PCIe switch"},
           {"link", "{bandwidth, latency}", "GPU PCIe bandwidth, 1.5us", "GPU to switch"},
           {"host_link", "{bandwidth, latency}", "as link", "switch to host"}},
          pcie_switch);
    r.add("pairwise-nvlink", "NVLink between GPU pairs (0-1, 2-3, ...), PCIe for the rest",
          {{"gpus", "count", "", "even number of GPUs"},
           {"nvlink", "{bandwidth, latency}", "GPU NVLink bandwidth, 1us", "pair bridge"},
           {"pcie", "{bandwidth, latency}", "GPU PCIe bandwidth, 1.5us", "PCIe links"},
           {"gpus_per_switch", "count", "2", "GPUs under each PCIe switch"}},
          pairwise_nvlink);
    r.add("multi-node", "servers with an NVSwitch each, joined by NICs through one fabric switch",
          {{"nodes", "count", "", "servers"},
           {"gpus_per_node", "count", "8 (nvl72: 72)", "GPUs per node"},
           {"nics_per_node", "count", "gpus_per_node", "NICs per server (GPU g uses NIC g mod n)"},
           {"node", "nvswitch|xgmi-mesh|nvl72", "nvswitch",
            "each node's scale-up fabric: a server's NVSwitch, an XGMI full mesh (one link per "
            "GPU pair) or an NVL72 rack's NVLink domain"},
           {"nvlink", "{bandwidth, latency}", "GPU NVLink bandwidth (xgmi-mesh: its mesh link), 1us",
            "inside a node"},
           {"pcie", "{bandwidth, latency}", "GPU PCIe bandwidth, 1.5us", "GPU to NIC"},
           {"nic", "{bandwidth, latency}", "200Gb/s, 2.5us", "NIC to fabric"},
           {"fabric", "custom|rail-400g-rdma|frontend-100g-tcp", "custom",
            "a NIC preset, one NIC per GPU at the rate NCCL achieves: rail-400g-rdma 48.8 GB/s "
            "(97.6% of 400 Gb/s RDMA), 2.5us; frontend-100g-tcp 5 GB/s (40% of 100 Gb/s over "
            "NCCL's TCP sockets), 25us; custom: the nic link"}},
          multi_node);
    r.add("xgmi-mesh",
          "AMD MI300X/MI325X/MI355X platform: a full mesh of XGMI links, one per GPU pair, so a "
          "group of k GPUs sees only its k - 1 links per GPU",
          {{"gpus", "count", "8", "number of GPUs (at most 8)"},
           {"link", "{bandwidth, latency}", "GPU mesh link bandwidth (mi300x: 64GB/s), 1us",
            "each pair's link, per direction"}},
          xgmi_mesh);
    r.add("nvl72",
          "GB200/GB300 NVL72 rack: 72 GPUs in one NVLink 5 domain (900 GB/s each way per GPU) "
          "through the rack's NVLink switches",
          {{"gpus", "count", "72", "number of GPUs (at most 72)"},
           {"link", "{bandwidth, latency}", "GPU NVLink bandwidth, 1us",
            "GPU to the NVLink switches; GPUs below NVLink 5 are refused unless given"}},
          nvl72);
    r.add("explicit", "named nodes and links, for anything the presets do not cover",
          {{"gpus", "count", "", "GPUs, named gpu0, gpu1, ..."},
           {"nodes", "[{name, kind}]", "", "other nodes: nvswitch, pcie-switch, nic, "
                                           "network-switch, host"},
           {"links", "[{from, to, bandwidth, latency, duplex}]", "",
            "endpoints are GPU indices or node names; duplex defaults to true"}},
          explicit_topology);
    return r;
  }();
  return registry;
}

}  // namespace kvsim::net
