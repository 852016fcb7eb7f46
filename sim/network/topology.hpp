#pragma once
// The network as a graph: GPUs, switches, NICs and hosts joined by directed links.
//
// Built by a topology preset (topologies.hpp) or an explicit list, then possibly modified by
// heterogeneity (per-link bandwidth scale). Routes are Boost.Graph shortest paths, by latency
// then hop count, computed once per source and cached. Bandwidth in bytes/s, latency in Duration.

#include <boost/graph/adjacency_list.hpp>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/time.hpp"

namespace kvsim::net {

enum class NodeKind { kGpu, kNvSwitch, kPcieSwitch, kNic, kNetworkSwitch, kHost };
std::string to_string(NodeKind kind);

/// What a link is physically, derived from its endpoints: `kNetwork` touches a network switch or
/// joins two NICs; `kPcie` touches a PCIe switch or the host, or joins a GPU to its NIC; every
/// other link (GPU to GPU, GPU or switch to an NVSwitch) is `kNvlink`. Collective protocols may
/// achieve a different fraction of the bandwidth on each kind.
enum class LinkKind { kNvlink, kPcie, kNetwork };
inline constexpr int kLinkKinds = 3;
std::string to_string(LinkKind kind);  // "nvlink", "pcie", "network"
LinkKind link_kind(NodeKind from, NodeKind to);

struct Node {
  std::string name;
  NodeKind kind = NodeKind::kGpu;
  int gpu = -1;  // index among GPUs, -1 for other nodes
};

struct Link {
  int id = 0;
  int from = 0;  // node ids
  int to = 0;
  double bandwidth = 0;          // bytes/s now (after heterogeneity)
  double nominal_bandwidth = 0;  // bytes/s as built
  Duration latency{0};
  LinkKind kind = LinkKind::kNvlink;
};

struct Route {
  std::vector<int> links;  // link ids in order
  Duration latency{0};     // sum over the links
  double bottleneck = 0;   // bytes/s, the smallest link bandwidth
  LinkKind bottleneck_kind = LinkKind::kNvlink;  // of the first link at that bandwidth
};

class Topology {
 public:
  int add_node(std::string name, NodeKind kind);
  int add_gpu();  // named "gpu<i>"
  int add_link(int from, int to, double bandwidth, Duration latency);
  void add_duplex(int a, int b, double bandwidth, Duration latency);

  int gpu_count() const { return static_cast<int>(gpu_nodes_.size()); }
  int gpu_node(int gpu) const { return gpu_nodes_.at(gpu); }
  int node_count() const { return static_cast<int>(nodes_.size()); }
  const Node& node(int id) const { return nodes_.at(id); }
  int find_node(const std::string& name) const;  // -1 if absent
  const std::vector<Link>& links() const { return links_; }
  const Link& link(int id) const { return links_.at(id); }
  /// The direct link from -> to, or -1.
  int find_link(int from, int to) const;

  /// Multiplies a link's bandwidth (heterogeneity); routes are unaffected (they use latency).
  void scale_link(int id, double factor);

  /// Shortest route between two nodes; throws std::invalid_argument if unreachable.
  const Route& route(int from_node, int to_node) const;
  const Route& gpu_route(int from_gpu, int to_gpu) const {
    return route(gpu_node(from_gpu), gpu_node(to_gpu));
  }

  /// A JSON description (nodes, links) for the resolved scenario and reports.
  Json to_json() const;

 private:
  struct EdgeProps {
    int link = 0;
  };
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS,
                                      boost::no_property, EdgeProps>;
  void compute_routes_from(int source) const;

  Graph graph_;
  std::vector<Node> nodes_;
  std::vector<Link> links_;
  std::vector<int> gpu_nodes_;
  std::unordered_map<std::string, int> names_;
  std::unordered_map<std::int64_t, int> link_index_;  // (from << 32 | to) -> first link id
  // Routes are filled per source on first use, possibly from several threads at once (the
  // partition search evaluates candidates in parallel): the lock guards the fill. Filled
  // entries never move until the topology is modified, which happens only before sharing.
  struct RouteLock {
    std::mutex mutex;
    RouteLock() = default;
    RouteLock(const RouteLock&) {}
    RouteLock& operator=(const RouteLock&) { return *this; }
  };
  mutable RouteLock route_lock_;
  mutable std::vector<std::vector<Route>> routes_;  // [from][to], filled per source on demand
  mutable std::vector<bool> routed_;
};

}  // namespace kvsim::net
