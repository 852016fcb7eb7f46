#include "sim/network/topology.hpp"

#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <boost/property_map/function_property_map.hpp>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/core/units.hpp"

namespace kvsim::net {

std::string to_string(NodeKind kind) {
  switch (kind) {
    case NodeKind::kGpu: return "gpu";
    case NodeKind::kNvSwitch: return "nvswitch";
    case NodeKind::kPcieSwitch: return "pcie-switch";
    case NodeKind::kNic: return "nic";
    case NodeKind::kNetworkSwitch: return "network-switch";
    case NodeKind::kHost: return "host";
  }
  return "?";
}

std::string to_string(LinkKind kind) {
  switch (kind) {
    case LinkKind::kNvlink: return "nvlink";
    case LinkKind::kPcie: return "pcie";
    case LinkKind::kNetwork: return "network";
  }
  return "?";
}

LinkKind link_kind(NodeKind from, NodeKind to) {
  const auto either = [&](NodeKind k) { return from == k || to == k; };
  if (either(NodeKind::kNetworkSwitch) || (from == NodeKind::kNic && to == NodeKind::kNic)) {
    return LinkKind::kNetwork;
  }
  if (either(NodeKind::kPcieSwitch) || either(NodeKind::kHost) || either(NodeKind::kNic)) {
    return LinkKind::kPcie;
  }
  return LinkKind::kNvlink;
}

int Topology::add_node(std::string name, NodeKind kind) {
  if (names_.count(name) != 0) throw std::invalid_argument("duplicate node name '" + name + "'");
  const int id = static_cast<int>(boost::add_vertex(graph_));
  names_.emplace(name, id);
  nodes_.push_back(Node{std::move(name), kind, -1});
  routed_.clear();
  return id;
}

int Topology::add_gpu() {
  const int gpu = gpu_count();
  const int id = add_node(fmt::format("gpu{}", gpu), NodeKind::kGpu);
  nodes_[id].gpu = gpu;
  gpu_nodes_.push_back(id);
  return id;
}

int Topology::add_link(int from, int to, double bandwidth, Duration latency) {
  if (from == to || from < 0 || to < 0 || from >= node_count() || to >= node_count()) {
    throw std::invalid_argument(fmt::format("invalid link {} -> {}", from, to));
  }
  if (!(bandwidth > 0)) throw std::invalid_argument("link bandwidth must be positive");
  const int id = static_cast<int>(links_.size());
  links_.push_back(Link{id, from, to, bandwidth, bandwidth, latency,
                        link_kind(nodes_[from].kind, nodes_[to].kind)});
  link_index_.emplace((static_cast<std::int64_t>(from) << 32) | to, id);
  boost::add_edge(static_cast<std::size_t>(from), static_cast<std::size_t>(to), EdgeProps{id},
                  graph_);
  routed_.clear();
  return id;
}

void Topology::add_duplex(int a, int b, double bandwidth, Duration latency) {
  add_link(a, b, bandwidth, latency);
  add_link(b, a, bandwidth, latency);
}

int Topology::find_node(const std::string& name) const {
  const auto it = names_.find(name);
  return it == names_.end() ? -1 : it->second;
}

int Topology::find_link(int from, int to) const {
  const auto it = link_index_.find((static_cast<std::int64_t>(from) << 32) | to);
  return it == link_index_.end() ? -1 : it->second;
}

void Topology::scale_link(int id, double factor) {
  if (!(factor > 0)) throw std::invalid_argument("bandwidth scale must be positive");
  Link& l = links_.at(id);
  l.bandwidth *= factor;
  // Cached routes hold bottlenecks: recompute them.
  routed_.clear();
}

void Topology::compute_routes_from(int source) const {
  const auto n = static_cast<std::size_t>(node_count());
  if (routed_.size() != n) {
    routed_.assign(n, false);
    routes_.assign(n, {});
  }
  // Weight: latency in ns scaled so any latency difference dominates, plus one per hop.
  std::vector<double> distance(n);
  std::vector<std::size_t> parent(n);
  const auto weight = boost::make_function_property_map<Graph::edge_descriptor>(
      [this](const Graph::edge_descriptor& e) {
        const Link& l = links_[graph_[e].link];
        return static_cast<double>(l.latency.count()) * 4096.0 + 1.0;
      });
  boost::dijkstra_shortest_paths(
      graph_, static_cast<std::size_t>(source),
      boost::weight_map(weight)
          .distance_map(boost::make_iterator_property_map(distance.begin(),
                                                          boost::get(boost::vertex_index, graph_)))
          .predecessor_map(boost::make_iterator_property_map(
              parent.begin(), boost::get(boost::vertex_index, graph_))));
  std::vector<Route>& out = routes_[source];
  out.assign(n, Route{});
  for (std::size_t dst = 0; dst < n; ++dst) {
    if (static_cast<int>(dst) == source || parent[dst] == dst) continue;  // unreachable
    Route r;
    r.bottleneck = std::numeric_limits<double>::infinity();
    for (std::size_t v = dst; v != static_cast<std::size_t>(source); v = parent[v]) {
      const int link = find_link(static_cast<int>(parent[v]), static_cast<int>(v));
      r.links.insert(r.links.begin(), link);
      r.latency += links_[link].latency;
      // Walking back from dst, `<=` leaves the kind of the first slowest link in route order.
      if (links_[link].bandwidth <= r.bottleneck) {
        r.bottleneck = links_[link].bandwidth;
        r.bottleneck_kind = links_[link].kind;
      }
    }
    out[dst] = std::move(r);
  }
  routed_[source] = true;
}

const Route& Topology::route(int from, int to) const {
  if (from == to) throw std::invalid_argument("route from a node to itself");
  const Route* found = nullptr;
  {
    const std::lock_guard lock(route_lock_.mutex);
    if (routed_.size() != static_cast<std::size_t>(node_count()) || !routed_[from]) {
      compute_routes_from(from);
    }
    found = &routes_[from][to];
  }
  const Route& r = *found;
  if (r.links.empty()) {
    throw std::invalid_argument(
        fmt::format("no route from {} to {}", nodes_[from].name, nodes_[to].name));
  }
  return r;
}

Json Topology::to_json() const {
  Json nodes = Json::array();
  for (const Node& n : nodes_) nodes.push_back({{"name", n.name}, {"kind", to_string(n.kind)}});
  Json links = Json::array();
  for (const Link& l : links_) {
    links.push_back({{"from", nodes_[l.from].name},
                     {"to", nodes_[l.to].name},
                     {"bandwidth_bytes_per_s", l.bandwidth},
                     {"nominal_bandwidth_bytes_per_s", l.nominal_bandwidth},
                     {"latency_ns", l.latency.count()}});
  }
  return Json{{"nodes", nodes}, {"links", links}};
}

}  // namespace kvsim::net
