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

std::vector<int> first_gpus(int ranks) {
  std::vector<int> gpus;
  for (int g = 0; g < ranks; ++g) gpus.push_back(g);
  return gpus;
}

namespace {

// The all-reduce of a point on a topology without its fixed cost: per step, the slowest
// transfer's route latency and wire time at full efficiency (seconds).
struct Shape {
  double route = 0;
  double wire = 0;
};

Shape shape_of(const CollectivePoint& p, const net::Topology& t) {
  const std::vector<int> gpus = first_gpus(p.ranks);
  Shape s;
  for (const net::Step& step : net::plan_collective(net::CollectiveKind::kAllReduce,
                                                    net::CollectiveAlgorithm::kRing, p.ranks,
                                                    p.bytes)) {
    double route = 0;
    double wire = 0;
    for (const net::Transfer& tr : step) {
      const net::Route& r = t.gpu_route(gpus[tr.from], gpus[tr.to]);
      route = std::max(route, to_seconds(r.latency));
      wire = std::max(wire, tr.bytes / r.bottleneck);
    }
    s.route += route;
    s.wire += wire;
  }
  return s;
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

// One protocol's coefficients: the time of an all-reduce on the k-th measured GPU count is
// fixed[k] + b x wire, where fixed[k] includes the routes' latencies.
struct Coefficients {
  std::vector<double> fixed;
  double b = 1;
  double at(std::size_t count, double wire) const { return fixed[count] + b * wire; }
};

}  // namespace

std::vector<CollectivePoint> import_vidur_collective_rows(const std::string& path) {
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
      const int per = std::stoi(row[per_node]);
      const CollectivePoint p{ranks, std::stod(row[size]), std::stod(row[median]) * 1e-3,
                              per > 0 ? ranks / per : 0};
      if (ranks < 2 || ranks > 4096 || per < 1 || ranks % per != 0 || !(p.bytes > 0) ||
          !(p.seconds > 0) || !std::isfinite(p.bytes) || !std::isfinite(p.seconds)) {
        throw std::invalid_argument("range");
      }
      out.push_back(p);
    } catch (const std::exception&) {
      throw InputError(path, "", fmt::format("line {}: ranks, size and median must be positive "
                                             "numbers, devices_per_node a divisor of ranks",
                                             i + 2));
    }
  }
  if (out.empty()) throw InputError(path, "", "no rows");
  return out;
}

std::vector<CollectivePoint> import_vidur_collective(const std::string& path) {
  std::vector<CollectivePoint> out;
  for (const auto& p : import_vidur_collective_rows(path)) {
    if (p.servers == 1) out.push_back(p);  // several servers: another network
  }
  if (out.empty()) throw InputError(path, "", "no rows measured inside one server");
  return out;
}

namespace {

// An all-reduce fit's data: each point's measured GPU count (an index into `counts`), wire time
// and measured time; per count, the routes' latency the fixed cost must not go below.
struct FitData {
  std::vector<int> counts;
  std::vector<double> route;
  std::vector<std::size_t> count;
  std::vector<double> wire;
  std::vector<double> y;
  std::vector<double> bytes;
};

FitData fit_data(const std::vector<CollectivePoint>& points, const net::Topology& t) {
  FitData d;
  for (const auto& p : points) d.counts.push_back(p.ranks);
  std::sort(d.counts.begin(), d.counts.end());
  d.counts.erase(std::unique(d.counts.begin(), d.counts.end()), d.counts.end());
  d.route.assign(d.counts.size(), 0);
  for (const auto& p : points) {
    const auto k = static_cast<std::size_t>(
        std::lower_bound(d.counts.begin(), d.counts.end(), p.ranks) - d.counts.begin());
    const Shape s = shape_of(p, t);
    d.route[k] = s.route;
    d.count.push_back(k);
    d.wire.push_back(s.wire);
    d.y.push_back(p.seconds);
    d.bytes.push_back(p.bytes);
  }
  return d;
}

// One protocol fitted to the points in `in`: features are an indicator per GPU count and the
// wire time; clamped as the protocol will be (fixed cost >= routes' latency, efficiency <= 1).
std::optional<Coefficients> fit_group(const FitData& d, const std::vector<bool>& in) {
  std::vector<std::vector<double>> xs;
  std::vector<double> ys;
  std::vector<double> sizes;
  std::vector<bool> seen(d.counts.size(), false);
  for (std::size_t i = 0; i < d.y.size(); ++i) {
    if (!in[i]) continue;
    std::vector<double> x(d.counts.size() + 1, 0.0);
    x[d.count[i]] = 1;
    x.back() = d.wire[i];
    xs.push_back(std::move(x));
    ys.push_back(d.y[i]);
    sizes.push_back(d.bytes[i]);
    seen[d.count[i]] = true;
  }
  // Two sizes at least: one size cannot tell a fixed cost from a bandwidth term.
  std::sort(sizes.begin(), sizes.end());
  if (std::unique(sizes.begin(), sizes.end()) - sizes.begin() < 2) return std::nullopt;
  // Every count needs points, or its fixed cost is unknown.
  if (std::find(seen.begin(), seen.end(), false) != seen.end()) return std::nullopt;
  const LinearFit f = fit_relative(xs, ys);
  Coefficients c;
  for (std::size_t k = 0; k < d.counts.size(); ++k) {
    c.fixed.push_back(std::max(d.route[k], f.coefficients[k]));
  }
  c.b = std::max(1.0, f.coefficients.back());
  return c;
}

// Squared relative error of the faster-of-the-protocols model (the closed form without its
// nanosecond rounding), and each point's faster protocol.
double score(const FitData& d, const std::vector<Coefficients>& c, std::vector<bool>* first) {
  double sum = 0;
  for (std::size_t i = 0; i < d.y.size(); ++i) {
    std::size_t best = 0;
    double t = std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < c.size(); ++k) {
      const double tk = c[k].at(d.count[i], d.wire[i]);
      if (tk < t) {
        t = tk;
        best = k;
      }
    }
    if (first != nullptr) (*first)[i] = best == 0;
    const double e = t / d.y[i] - 1;
    sum += e * e;
  }
  return sum;
}

// Every split of the sizes into a small- and a large-message group (or none): the best start.
std::vector<Coefficients> best_split(const FitData& d, const std::vector<CollectivePoint>& points,
                                     double& threshold, double& best_score) {
  std::vector<double> sizes;
  for (const auto& p : points) sizes.push_back(p.bytes);
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  std::vector<Coefficients> best;
  best_score = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    std::vector<bool> small(points.size());
    for (std::size_t i = 0; i < points.size(); ++i) small[i] = points[i].bytes < sizes[k];
    std::vector<bool> large(small);
    large.flip();
    std::vector<Coefficients> c;
    if (k > 0) {
      const auto a = fit_group(d, small);
      if (!a) continue;
      c.push_back(*a);
    }
    const auto b = fit_group(d, large);
    if (!b) continue;
    c.push_back(*b);
    const double sc = score(d, c, nullptr);
    if (sc < best_score) {
      best_score = sc;
      best = c;
      threshold = k > 0 ? sizes[k] : 0;
    }
  }
  if (best.empty()) {
    throw InputError("all-reduce measurements", "",
                     fmt::format("{} point(s) at {} message size(s); the fit needs at least two "
                                 "sizes (a latency and a bandwidth term) at every GPU count",
                                 points.size(), sizes.size()));
  }
  return best;
}

// Each point moves to the protocol that now serves it faster; refit until the groups settle.
void settle(const FitData& d, std::vector<Coefficients>& best, double best_score) {
  for (int round = 0; round < 20 && best.size() == 2; ++round) {
    std::vector<bool> small(d.y.size());
    score(d, best, &small);
    std::vector<bool> large(small);
    large.flip();
    const auto a = fit_group(d, small);
    const auto b = fit_group(d, large);
    if (!a || !b) break;
    const std::vector<Coefficients> c{*a, *b};
    const double sc = score(d, c, nullptr);
    if (!(sc < best_score * (1 - 1e-12))) break;
    best_score = sc;
    best = c;
  }
}

}  // namespace

CollectiveFit fit_all_reduce(const std::vector<CollectivePoint>& points,
                             const net::Topology& topology) {
  const FitData d = fit_data(points, topology);
  CollectiveFit out;
  double best_score = 0;
  std::vector<Coefficients> best = best_split(d, points, out.threshold_bytes, best_score);
  settle(d, best, best_score);
  const net::LinkKind kind = topology.gpu_route(0, 1).bottleneck_kind;
  out.config.algorithm = net::CollectiveAlgorithm::kRing;
  out.config.protocols.clear();
  for (std::size_t k = 0; k < best.size(); ++k) {
    net::Protocol p;
    p.name = best.size() == 1 ? "simple" : k == 0 ? "small" : "large";
    for (std::size_t c = 0; c < d.counts.size(); ++c) {
      p.latency_by_gpus.push_back({d.counts[c], from_seconds(best[k].fixed[c] - d.route[c])});
    }
    p.efficiency = 1 / best[k].b;
    p.efficiency_by_link[static_cast<std::size_t>(kind)] = p.efficiency;
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
  out.protocol.efficiency_by_link[static_cast<std::size_t>(route.bottleneck_kind)] =
      out.protocol.efficiency;
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
