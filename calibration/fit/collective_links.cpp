// Efficiency per link kind for fitted collective protocols (rows measured across servers), and
// the errors of a collective profile against measured rows, each on the topology it was measured
// on. The fixed costs come from fit_all_reduce / fit_point_to_point (one server).
#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "calibration/fit/collectives.hpp"
#include "sim/core/input_error.hpp"
#include "sim/network/topologies.hpp"

namespace kvsim::calibration {
namespace {

// The measured topologies of a set of points, built once each.
class Topologies {
 public:
  explicit Topologies(const MeasuredCluster& cluster) : cluster_(cluster) {}
  const net::Topology& of(const CollectivePoint& p) {
    const std::pair<int, int> key{p.servers, p.ranks / p.servers};
    auto it = built_.find(key);
    if (it == built_.end()) {
      it = built_.emplace(key, measured_topology(cluster_, key.first, key.second)).first;
    }
    return it->second;
  }

 private:
  const MeasuredCluster& cluster_;
  std::map<std::pair<int, int>, net::Topology> built_;
};

// A ring all-reduce's route latency and wire time at full efficiency (seconds), and the link
// kind that bottlenecks its slowest transfers.
struct Ring {
  double route = 0;
  double wire = 0;
  net::LinkKind kind = net::LinkKind::kNvlink;
};

Ring ring_of(const CollectivePoint& p, const net::Topology& t) {
  Ring ring;
  for (const net::Step& step : net::plan_collective(net::CollectiveKind::kAllReduce,
                                                    net::CollectiveAlgorithm::kRing, p.ranks,
                                                    p.bytes)) {
    double route = 0;
    double wire = 0;
    for (const net::Transfer& tr : step) {
      const net::Route& r = t.gpu_route(tr.from, tr.to);
      route = std::max(route, to_seconds(r.latency));
      if (tr.bytes / r.bottleneck > wire) {
        wire = tr.bytes / r.bottleneck;
        ring.kind = r.bottleneck_kind;
      }
    }
    ring.route += route;
    ring.wire += wire;
  }
  return ring;
}

// b >= 1 minimising sum(((offset + b x wire) - y) / y)^2 over the points whose offset is under
// half of y; 0 when there are none.
double fit_scale(const std::vector<double>& offset, const std::vector<double>& wire,
                 const std::vector<double>& y, std::size_t& used) {
  std::vector<std::size_t> keep;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (offset[i] < 0.5 * y[i] && wire[i] > 0) keep.push_back(i);
  }
  used = keep.size();
  if (keep.empty()) return 0;
  Eigen::VectorXd a(static_cast<Eigen::Index>(keep.size()));
  Eigen::VectorXd r(static_cast<Eigen::Index>(keep.size()));
  for (std::size_t j = 0; j < keep.size(); ++j) {
    const std::size_t i = keep[j];
    a[static_cast<Eigen::Index>(j)] = wire[i] / y[i];
    r[static_cast<Eigen::Index>(j)] = (y[i] - offset[i]) / y[i];
  }
  return std::max(1.0, a.dot(r) / a.squaredNorm());
}

void set_efficiency(net::Protocol& p, net::LinkKind kind, double efficiency) {
  p.efficiency_by_link[static_cast<std::size_t>(kind)] = efficiency;
  double lowest = 1;
  for (const double e : p.efficiency_by_link) {
    if (e > 0) lowest = std::min(lowest, e);
  }
  p.efficiency = lowest;  // what kinds never measured use (protocol.hpp)
}

LinkFit errors_of(const std::vector<CollectivePoint>& points, const MeasuredCluster& cluster,
                  const net::CollectiveConfig& config, bool point_to_point, LinkFit out) {
  std::vector<double> e = collective_errors(points, cluster, config, point_to_point);
  for (double& x : e) x = std::abs(x);
  std::sort(e.begin(), e.end());
  out.points = points.size();
  out.median_error = e[e.size() / 2];
  out.worst_error = e.back();
  return out;
}

net::LinkKind one_kind(const std::vector<Ring>& rings) {
  for (const Ring& r : rings) {
    if (r.kind != rings.front().kind) {
      throw InputError("collective measurements", "",
                       "rows whose routes are bottlenecked by different link kinds: fit each "
                       "kind from its own rows");
    }
  }
  return rings.front().kind;
}

}  // namespace

net::Topology measured_topology(const MeasuredCluster& cluster, int servers,
                                int gpus_per_server) {
  const Json spec = servers == 1 ? Json{{"type", "nvswitch"}, {"gpus", gpus_per_server}}
                                 : Json{{"type", "multi-node"},
                                        {"nodes", servers},
                                        {"gpus_per_node", gpus_per_server},
                                        {"nic", {{"bandwidth", cluster.nic}}}};
  return net::topologies().create(ConfigNode(&spec, "--nic", Json::json_pointer()), cluster.gpu);
}

std::vector<double> collective_errors(const std::vector<CollectivePoint>& points,
                                      const MeasuredCluster& cluster, const net::CollectiveConfig& config,
                                      bool point_to_point) {
  Topologies topologies(cluster);
  std::vector<double> out;
  const auto kind = net::CollectiveKind::kAllReduce;
  for (const auto& p : points) {
    const net::Topology& t = topologies.of(p);
    Duration d;
    if (point_to_point) {
      d = net::message_time(t.gpu_route(0, 1), p.bytes, config.point_to_point);
    } else {
      const std::vector<int> gpus = first_gpus(p.ranks);
      d = net::collective_time(t, gpus, kind, config.algorithm, p.bytes,
                               net::choose_protocol(t, gpus, kind, config, p.bytes));
    }
    out.push_back(to_seconds(d) / p.seconds - 1);
  }
  return out;
}

LinkFit fit_link_efficiency(const std::vector<CollectivePoint>& points, const MeasuredCluster& cluster,
                            net::CollectiveConfig& config) {
  Topologies topologies(cluster);
  std::vector<Ring> rings;
  for (const auto& p : points) rings.push_back(ring_of(p, topologies.of(p)));
  LinkFit out;
  out.kind = one_kind(rings);
  const std::size_t n = points.size();
  const std::size_t protocols = config.protocols.size();
  std::vector<std::vector<double>> offset(protocols, std::vector<double>(n));
  std::vector<double> b(protocols);
  for (std::size_t k = 0; k < protocols; ++k) {
    const net::Protocol& proto = config.protocols[k];
    for (std::size_t i = 0; i < n; ++i) {
      offset[k][i] = to_seconds(proto.fixed_cost(2 * (points[i].ranks - 1), points[i].ranks)) +
                     rings[i].route;
    }
    b[k] = 1 / proto.efficiency_on(out.kind);
  }
  // Each point to the protocol that serves it faster; refit each protocol on its points.
  std::vector<std::size_t> owner(n, protocols);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::size_t> next(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t k = 1; k < protocols; ++k) {
        const auto t = [&](std::size_t q) { return offset[q][i] + b[q] * rings[i].wire; };
        if (t(k) < t(next[i])) next[i] = k;
      }
    }
    if (next == owner) break;
    owner = next;
    out.bandwidth_points = 0;
    for (std::size_t k = 0; k < protocols; ++k) {
      std::vector<double> o, w, y;
      for (std::size_t i = 0; i < n; ++i) {
        if (owner[i] != k) continue;
        o.push_back(offset[k][i]);
        w.push_back(rings[i].wire);
        y.push_back(points[i].seconds);
      }
      std::size_t used = 0;
      const double fitted = fit_scale(o, w, y, used);
      out.bandwidth_points += used;
      if (fitted > 0) b[k] = fitted;
    }
  }
  for (std::size_t k = 0; k < protocols; ++k) {
    set_efficiency(config.protocols[k], out.kind, 1 / b[k]);
  }
  return errors_of(points, cluster, config, false, out);
}

LinkFit fit_point_to_point_link(const std::vector<CollectivePoint>& points, const MeasuredCluster& cluster,
                                net::Protocol& protocol) {
  Topologies topologies(cluster);
  std::vector<double> o, w, y;
  LinkFit out;
  for (const auto& p : points) {
    const net::Route& r = topologies.of(p).gpu_route(0, 1);
    out.kind = r.bottleneck_kind;
    o.push_back(to_seconds(protocol.step_latency + r.latency));
    w.push_back(p.bytes / r.bottleneck);
    y.push_back(p.seconds);
  }
  const double b = fit_scale(o, w, y, out.bandwidth_points);
  if (b == 0) {
    throw InputError("send/recv measurements", "",
                     "no row is dominated by bandwidth (fixed cost + route latency under half "
                     "the time): measure larger messages");
  }
  set_efficiency(protocol, out.kind, 1 / b);
  net::CollectiveConfig config;
  config.point_to_point = protocol;
  return errors_of(points, cluster, config, true, out);
}

Json LinkFit::to_json() const {
  return {{"link_kind", net::to_string(kind)},
          {"points", points},
          {"bandwidth_points", bandwidth_points},
          {"median_relative_error", median_error},
          {"worst_relative_error", worst_error}};
}

}  // namespace kvsim::calibration
