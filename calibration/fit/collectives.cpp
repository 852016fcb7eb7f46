#include "calibration/fit/collectives.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "calibration/fit/calibration.hpp"
#include "sim/core/input_error.hpp"
#include "sim/core/table.hpp"

namespace kvsim::calibration {
namespace {

std::vector<int> first_gpus(int ranks) {
  std::vector<int> gpus;
  for (int g = 0; g < ranks; ++g) gpus.push_back(g);
  return gpus;
}

// The two features of a point: steps, and wire seconds at full efficiency.
std::vector<double> features(const CollectivePoint& p, const net::Topology& t) {
  const double steps = 2.0 * (p.ranks - 1);
  const double bottleneck = t.gpu_route(0, 1).bottleneck;
  return {steps, steps * p.bytes / p.ranks / bottleneck};
}

double predict(const CollectivePoint& p, const net::Topology& t, const net::CollectiveConfig& c) {
  const std::vector<int> gpus = first_gpus(p.ranks);
  const auto kind = net::CollectiveKind::kAllReduce;
  return to_seconds(net::collective_time(t, gpus, kind, c.algorithm, p.bytes,
                                         net::choose_protocol(t, gpus, kind, c, p.bytes)));
}

std::vector<double> errors(const std::vector<CollectivePoint>& points, const net::Topology& t,
                           const net::CollectiveConfig& c) {
  std::vector<double> out;
  for (const auto& p : points) out.push_back(std::abs(predict(p, t, c) / p.seconds - 1));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<CollectivePoint> import_vidur_collective(const std::string& path) {
  const Table t = read_csv(path);
  const int median = t.column("time_stats.all_reduce.median") >= 0
                         ? t.column("time_stats.all_reduce.median")
                         : t.column("time_stats.send_recv.median");
  const int workers = t.column("num_workers");
  const int size = t.column("size");
  const int per_node = t.column("devices_per_node");
  if (median < 0 || workers < 0 || size < 0 || per_node < 0) {
    throw InputError(path, "", "not a Vidur network CSV: needs time_stats.<op>.median, "
                               "num_workers, size and devices_per_node columns");
  }
  std::vector<CollectivePoint> out;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto& row = t.rows[i];
    try {
      const int ranks = std::stoi(row[workers]);
      if (std::stoi(row[per_node]) != ranks) continue;  // several servers: another network
      const CollectivePoint p{ranks, std::stod(row[size]), std::stod(row[median]) * 1e-3};
      if (ranks < 2 || !(p.bytes > 0) || !(p.seconds > 0) || !std::isfinite(p.bytes) ||
          !std::isfinite(p.seconds)) {
        throw std::invalid_argument("range");
      }
      out.push_back(p);
    } catch (const std::exception&) {
      throw InputError(path, "", fmt::format("line {}: ranks, size and median must be positive "
                                             "numbers",
                                             i + 2));
    }
  }
  if (out.empty()) throw InputError(path, "", "no rows measured inside one server");
  return out;
}

CollectiveFit fit_all_reduce(const std::vector<CollectivePoint>& points,
                             const net::Topology& topology) {
  std::vector<std::vector<double>> x;
  std::vector<double> sizes;
  for (const auto& p : points) {
    x.push_back(features(p, topology));
    sizes.push_back(p.bytes);
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  const double route = to_seconds(topology.gpu_route(0, 1).latency);

  // One protocol per group of points; its (a, b) clamped as to_protocol() will.
  using Coefficients = std::pair<double, double>;
  const auto fit_group = [&](const std::vector<bool>& in) -> std::optional<Coefficients> {
    std::vector<std::vector<double>> xs;
    std::vector<double> ys;
    std::vector<double> group_sizes;
    for (std::size_t i = 0; i < points.size(); ++i) {
      if (!in[i]) continue;
      xs.push_back(x[i]);
      ys.push_back(points[i].seconds);
      group_sizes.push_back(points[i].bytes);
    }
    std::sort(group_sizes.begin(), group_sizes.end());
    if (std::unique(group_sizes.begin(), group_sizes.end()) - group_sizes.begin() < 2) {
      return std::nullopt;  // two coefficients need two sizes
    }
    const LinearFit f = fit_relative(xs, ys);
    return Coefficients{std::max(route, f.coefficients[0]), std::max(1.0, f.coefficients[1])};
  };
  // Squared relative error of the faster-of-the-protocols model (the closed form without
  // its per-step nanosecond rounding), and each point's faster protocol.
  const auto score = [&](const std::vector<Coefficients>& c, std::vector<bool>* first) {
    double sum = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
      std::size_t best = 0;
      double t = std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < c.size(); ++k) {
        const double tk = c[k].first * x[i][0] + c[k].second * x[i][1];
        if (tk < t) {
          t = tk;
          best = k;
        }
      }
      if (first != nullptr) (*first)[i] = best == 0;
      const double e = t / points[i].seconds - 1;
      sum += e * e;
    }
    return sum;
  };

  // Start from every split of the sizes into a small- and a large-message group (or none),
  // keep the best, then let each point move to the protocol that now serves it faster and
  // refit, until the groups settle.
  std::vector<Coefficients> best;
  double best_score = std::numeric_limits<double>::infinity();
  CollectiveFit out;
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    std::vector<bool> small(points.size());
    for (std::size_t i = 0; i < points.size(); ++i) small[i] = points[i].bytes < sizes[k];
    std::vector<bool> large(small);
    large.flip();
    std::vector<Coefficients> c;
    if (k > 0) {
      const auto a = fit_group(small);
      if (!a) continue;
      c.push_back(*a);
    }
    const auto b = fit_group(large);
    if (!b) continue;
    c.push_back(*b);
    const double sc = score(c, nullptr);
    if (sc < best_score) {
      best_score = sc;
      best = c;
      out.threshold_bytes = k > 0 ? sizes[k] : 0;
    }
  }
  if (best.empty()) {
    throw InputError("all-reduce measurements", "",
                     fmt::format("{} point(s) at {} message size(s); the fit needs at least two "
                                 "sizes (a latency and a bandwidth term)",
                                 points.size(), sizes.size()));
  }
  for (int round = 0; round < 20 && best.size() == 2; ++round) {
    std::vector<bool> small(points.size());
    score(best, &small);
    std::vector<bool> large(small);
    large.flip();
    const auto a = fit_group(small);
    const auto b = fit_group(large);
    if (!a || !b) break;
    const std::vector<Coefficients> c{*a, *b};
    const double sc = score(c, nullptr);
    if (!(sc < best_score * (1 - 1e-12))) break;
    best_score = sc;
    best = c;
  }

  out.config.algorithm = net::CollectiveAlgorithm::kRing;
  out.config.protocols.clear();
  for (std::size_t k = 0; k < best.size(); ++k) {
    net::Protocol p;
    p.name = best.size() == 1 ? "simple" : k == 0 ? "small" : "large";
    p.step_latency = from_seconds(best[k].first - route);
    p.efficiency = 1 / best[k].second;
    out.config.protocols.push_back(p);
  }
  const std::vector<double> e = errors(points, topology, out.config);
  out.points = points.size();
  out.median_error = e[e.size() / 2];
  out.worst_error = e.back();
  return out;
}

PointToPointFit fit_point_to_point(const std::vector<CollectivePoint>& points,
                                   const net::Topology& topology) {
  const net::Route& route = topology.gpu_route(0, 1);
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  std::vector<double> sizes;
  for (const auto& p : points) {
    x.push_back({1.0, p.bytes / route.bottleneck});
    y.push_back(p.seconds);
    sizes.push_back(p.bytes);
  }
  std::sort(sizes.begin(), sizes.end());
  if (std::unique(sizes.begin(), sizes.end()) - sizes.begin() < 2) {
    throw InputError("send/recv measurements", "",
                     fmt::format("{} point(s) at one message size; the fit needs at least two "
                                 "sizes (a fixed cost and a bandwidth term)",
                                 points.size()));
  }
  const LinearFit f = fit_relative(x, y);
  PointToPointFit out;
  out.protocol.step_latency =
      from_seconds(std::max(0.0, f.coefficients[0] - to_seconds(route.latency)));
  out.protocol.efficiency = 1 / std::max(1.0, f.coefficients[1]);
  std::vector<double> e;
  for (const auto& p : points) {
    e.push_back(std::abs(to_seconds(net::message_time(route, p.bytes, out.protocol)) / p.seconds -
                         1));
  }
  std::sort(e.begin(), e.end());
  out.points = points.size();
  out.median_error = e[e.size() / 2];
  out.worst_error = e.back();
  return out;
}

Json PointToPointFit::to_json() const {
  return {{"points", points},
          {"median_relative_error", median_error},
          {"worst_relative_error", worst_error}};
}

Json CollectiveFit::to_json() const {
  return {{"points", points},
          {"threshold_bytes", threshold_bytes},
          {"median_relative_error", median_error},
          {"worst_relative_error", worst_error}};
}

}  // namespace kvsim::calibration
