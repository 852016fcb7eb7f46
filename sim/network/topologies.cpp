#include "sim/network/topologies.hpp"
#include "sim/network/topology_parts.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace kvsim::net {
namespace {
using namespace detail;

constexpr std::int64_t kMaxFullyConnectedGpus = 256;

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
