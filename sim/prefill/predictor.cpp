#include "sim/prefill/predictor.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

#include <Eigen/Dense>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/prefill/prefill_strategy.hpp"

namespace kvsim::prefill {
namespace {

constexpr std::size_t kPointTerms = 10;  // 1, x, y, q, x^2, y^2, xy, xq, yq, q^2
constexpr std::size_t kPositionTerms = 4;  // 1, u, u^2, u^3
constexpr std::size_t kFeatures = kPointTerms * kPositionTerms;

// Features of process i of p at (bandwidth, context): centred logs times powers of the
// position u in (-1/2, 1/2).
std::array<double, kFeatures> features(int i, int p, double bandwidth, std::int64_t context) {
  const double x = std::log(static_cast<double>(context) / 4096.0);
  const double y = std::log(bandwidth / 1e11);
  const double q = std::log(p / 4.0);
  const std::array<double, kPointTerms> g{1, x, y, q, x * x, y * y, x * y, x * q, y * q, q * q};
  const double u = (i + 0.5) / p - 0.5;
  const std::array<double, kPositionTerms> h{1, u, u * u, u * u * u};
  std::array<double, kFeatures> out{};
  for (std::size_t a = 0; a < kPointTerms; ++a) {
    for (std::size_t b = 0; b < kPositionTerms; ++b) out[a * kPositionTerms + b] = g[a] * h[b];
  }
  return out;
}

// Where x sits among sorted values, in log space: (lower, upper, weight of upper). Exact
// matches (relative 1e-9) give lower == upper. Nothing when x is outside.
struct Bracket {
  std::size_t lo = 0;
  std::size_t hi = 0;
  double t = 0;
};
std::optional<Bracket> bracket(const std::vector<double>& sorted, double x) {
  for (std::size_t k = 0; k < sorted.size(); ++k) {
    if (std::abs(sorted[k] - x) <= 1e-9 * std::abs(x)) return Bracket{k, k, 0};
  }
  for (std::size_t k = 0; k + 1 < sorted.size(); ++k) {
    if (sorted[k] < x && x < sorted[k + 1]) {
      const double t = (std::log(x) - std::log(sorted[k])) /
                       (std::log(sorted[k + 1]) - std::log(sorted[k]));
      return Bracket{k, k + 1, t};
    }
  }
  return std::nullopt;
}

std::vector<double> blend(const std::vector<double>& a, const std::vector<double>& b, double t) {
  std::vector<double> out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = (1 - t) * a[i] + t * b[i];
  return out;
}

}  // namespace

std::string PredictorKey::describe() const {
  return fmt::format("{} on {} ({} attention, {} KV cache)", model, gpu, attention, precision);
}

PredictorTable::PredictorTable(PredictorKey key, std::vector<TrainingPoint> points)
    : key_(std::move(key)), points_(std::move(points)) {
  std::sort(points_.begin(), points_.end(), [](const TrainingPoint& a, const TrainingPoint& b) {
    return std::tie(a.processes, a.bandwidth, a.context_tokens) <
           std::tie(b.processes, b.bandwidth, b.context_tokens);
  });
  fit();
}

void PredictorTable::fit() {
  std::size_t rows = 0;
  for (const auto& pt : points_) rows += pt.fractions.size();
  Eigen::MatrixXd a(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(kFeatures));
  Eigen::VectorXd y(static_cast<Eigen::Index>(rows));
  Eigen::Index r = 0;
  for (const auto& pt : points_) {
    for (std::size_t i = 0; i < pt.fractions.size(); ++i, ++r) {
      const auto f = features(static_cast<int>(i), pt.processes, pt.bandwidth, pt.context_tokens);
      for (std::size_t c = 0; c < kFeatures; ++c) a(r, static_cast<Eigen::Index>(c)) = f[c];
      y(r) = std::log(pt.processes * pt.fractions[i]);
    }
  }
  // Ridge-regularised normal equations: the training grid rarely pins down every term.
  Eigen::MatrixXd normal = a.transpose() * a;
  const double ridge = 1e-6 * std::max(1.0, normal.trace() / static_cast<double>(kFeatures));
  normal += ridge * Eigen::MatrixXd::Identity(kFeatures, kFeatures);
  const Eigen::VectorXd beta = normal.ldlt().solve(a.transpose() * y);
  coefficients_.assign(beta.data(), beta.data() + beta.size());
  fit_rms_ = rows == 0 ? 0 : std::sqrt((a * beta - y).squaredNorm() / static_cast<double>(rows));
}

std::vector<double> PredictorTable::fitted(int p, double bandwidth, std::int64_t context) const {
  std::vector<double> out(static_cast<std::size_t>(p));
  double total = 0;
  for (int i = 0; i < p; ++i) {
    const auto f = features(i, p, bandwidth, context);
    double v = 0;
    for (std::size_t c = 0; c < kFeatures; ++c) v += coefficients_[c] * f[c];
    out[i] = std::exp(std::clamp(v, -20.0, 20.0));
    total += out[i];
  }
  for (double& v : out) v /= total;
  return out;
}

std::map<double, std::map<std::int64_t, const TrainingPoint*>> PredictorTable::rows(
    int p) const {
  std::map<double, std::map<std::int64_t, const TrainingPoint*>> out;  // bandwidth -> C -> point
  for (const auto& pt : points_) {
    if (pt.processes == p) out[pt.bandwidth].emplace(pt.context_tokens, &pt);
  }
  return out;
}

std::optional<PredictorTable::Blend> PredictorTable::along_context(
    const std::map<std::int64_t, const TrainingPoint*>& row, std::int64_t context) {
  std::vector<double> contexts;
  std::vector<const TrainingPoint*> pts;
  for (const auto& [c, pt] : row) {
    contexts.push_back(static_cast<double>(c));
    pts.push_back(pt);
  }
  const auto cb = bracket(contexts, static_cast<double>(context));
  if (!cb) return std::nullopt;
  Blend out{blend(pts[cb->lo]->fractions, pts[cb->hi]->fractions, cb->t), {pts[cb->lo]}};
  if (cb->hi != cb->lo) out.from.push_back(pts[cb->hi]);
  return out;
}

std::optional<PredictorTable::Blend> PredictorTable::interpolate(int p, double bandwidth,
                                                                 std::int64_t context) const {
  const auto grid = rows(p);
  std::vector<double> bandwidths;
  for (const auto& [b, row] : grid) bandwidths.push_back(b);
  const auto bb = bracket(bandwidths, bandwidth);
  if (!bb) return std::nullopt;
  const auto lo = along_context(grid.at(bandwidths[bb->lo]), context);
  const auto hi = along_context(grid.at(bandwidths[bb->hi]), context);
  if (!lo || !hi) return std::nullopt;
  Blend out{blend(lo->fractions, hi->fractions, bb->t), lo->from};
  if (bb->hi != bb->lo) out.from.insert(out.from.end(), hi->from.begin(), hi->from.end());
  return out;
}

Prediction PredictorTable::predict(int p, double bandwidth, std::int64_t context) const {
  return candidates(p, bandwidth, context).front();
}

std::vector<Prediction> PredictorTable::candidates(int p, double bandwidth,
                                                   std::int64_t context) const {
  if (p == 1) return {{{1.0}, "trivial"}};
  std::vector<Prediction> out;
  const auto inside = interpolate(p, bandwidth, context);
  if (inside) out.push_back({inside->fractions, "interpolated"});
  // Each trained bandwidth's shape at this context, nearest bandwidth first: where the optimum
  // changes shape with bandwidth, one of them is usually the right shape.
  std::vector<std::pair<double, double>> by_distance;  // |log ratio|, bandwidth
  const auto grid = rows(p);
  for (const auto& [b, row] : grid) by_distance.emplace_back(std::abs(std::log(b / bandwidth)), b);
  std::sort(by_distance.begin(), by_distance.end());
  for (const auto& [distance, b] : by_distance) {
    if (const auto f = along_context(grid.at(b), context)) {
      out.push_back({f->fractions, fmt::format("row B={:.4g} GB/s", b * 1e-9)});
    }
  }
  if (inside) {
    for (const TrainingPoint* pt : inside->from) {
      out.push_back({pt->fractions, fmt::format("trained C={}, B={:.4g} GB/s", pt->context_tokens,
                                                pt->bandwidth * 1e-9)});
    }
  }
  out.push_back({fitted(p, bandwidth, context), "fitted"});
  return out;
}

std::pair<Partition, std::string> choose_candidate(
    const std::vector<Prediction>& candidates, std::int64_t context_tokens,
    const std::function<Duration(const Partition&)>& evaluate) {
  Partition best;
  std::string method;
  Duration best_ttft = Duration::max();
  std::set<Partition> tried;
  for (const Prediction& c : candidates) {
    Partition x = partition_from_fractions(c.fractions, context_tokens);
    if (!tried.insert(x).second) continue;
    const Duration t = evaluate ? evaluate(x) : Duration(0);
    if (t < best_ttft) {
      best_ttft = t;
      best = std::move(x);
      method = c.method;
    }
    if (!evaluate) break;  // nothing to choose by: the first candidate
  }
  return {best, method};
}

Json PredictorTable::to_json() const {
  Json points = Json::array();
  for (const auto& pt : points_) {
    points.push_back({{"processes", pt.processes},
                      {"bandwidth_bytes_per_s", pt.bandwidth},
                      {"context_tokens", pt.context_tokens},
                      {"fractions", pt.fractions},
                      {"ttft_ns", pt.ttft.count()},
                      {"topology", pt.topology}});
  }
  const TrainedRanges r = ranges();
  return Json{{"trained_for",
               {{"model", key_.model},
                {"gpu", key_.gpu},
                {"attention", key_.attention},
                {"kv_cache", key_.precision}}},
              // Where the KVR-P partitioner answers; outside, it searches (with a warning).
              {"trained_ranges",
               {{"processes", {r.min_processes, r.max_processes}},
                {"context_tokens", {r.min_context, r.max_context}},
                {"bandwidth_bytes_per_s", {r.min_bandwidth, r.max_bandwidth}}}},
              {"training", points},
              {"fit",
               {{"target", "log(p * fraction_i)"},
                {"features", "{1, x, y, q, x^2, y^2, xy, xq, yq, q^2} x {1, u, u^2, u^3}; "
                             "x = ln(C/4096), y = ln(B / 100 GB/s), q = ln(p/4), "
                             "u = (i + 1/2)/p - 1/2"},
                {"coefficients", coefficients_},
                {"rms_residual", fit_rms_}}}};
}

PredictorTable PredictorTable::from_json(const ConfigNode& n) {
  const ConfigNode k = n.at("trained_for");
  PredictorKey key{k.string("model"), k.string("gpu"), k.string("attention"),
                   k.string("kv_cache")};
  k.finish();
  std::vector<TrainingPoint> points;
  for (const ConfigNode& e : n.at("training").elements()) {
    TrainingPoint pt;
    pt.processes = static_cast<int>(e.count("processes"));
    pt.bandwidth = e.number("bandwidth_bytes_per_s", 1, 1e300);
    pt.context_tokens = e.count("context_tokens");
    double total = 0;
    for (const ConfigNode& f : e.at("fractions").elements()) {
      const double v = f.as_number();
      if (!(v > 0 && v <= 1)) f.fail("a fraction must be in (0, 1]");
      pt.fractions.push_back(v);
      total += v;
    }
    if (static_cast<int>(pt.fractions.size()) != pt.processes || std::abs(total - 1) > 1e-6) {
      e.at("fractions").fail(fmt::format("needs {} fractions summing to 1", pt.processes));
    }
    pt.ttft = Duration(e.count("ttft_ns", 0));
    pt.topology = e.string_or("topology", "");
    e.finish();
    points.push_back(std::move(pt));
  }
  if (points.empty()) n.at("training").fail("a predictor needs training points");
  (void)n.find("fit");             // recomputed from the training points (deterministic)
  (void)n.find("trained_ranges");  // likewise (a record for readers)
  n.finish();
  return PredictorTable(std::move(key), std::move(points));
}

PartitionPredictor::PartitionPredictor(std::vector<PredictorTable> tables, Json validation)
    : tables_(std::move(tables)), validation_(std::move(validation)) {}

PartitionPredictor PartitionPredictor::load(const std::string& path) {
  const ConfigDocument doc = ConfigDocument::load_file(path);
  return from_json(doc.root());
}

PartitionPredictor PartitionPredictor::from_json(const ConfigNode& root) {
  if (root.string("kind") != "kvsim-partition-predictor") {
    root.at("kind").fail("not a kvsim partition predictor (make one with kvsim train-predictor)");
  }
  std::vector<PredictorTable> tables;
  for (const ConfigNode& t : root.at("tables").elements()) {
    tables.push_back(PredictorTable::from_json(t));
  }
  Json validation;
  if (const auto v = root.find("validation")) validation = v->json();
  (void)root.find("version");
  (void)root.find("search");          // how the training points were searched (a record)
  (void)root.find("training_sweep");  // the sweep they came from (a record)
  root.finish();
  return PartitionPredictor(std::move(tables), std::move(validation));
}

Json PartitionPredictor::to_json() const {
  Json tables = Json::array();
  for (const auto& t : tables_) tables.push_back(t.to_json());
  Json out{{"kind", "kvsim-partition-predictor"}, {"version", 1}, {"tables", tables}};
  if (!validation_.is_null()) out["validation"] = validation_;
  return out;
}

TrainedRanges PredictorTable::ranges() const {
  TrainedRanges r{points_.front().processes, points_.front().processes,
                  points_.front().bandwidth,  points_.front().bandwidth,
                  points_.front().context_tokens, points_.front().context_tokens};
  for (const TrainingPoint& pt : points_) {
    r.min_processes = std::min(r.min_processes, pt.processes);
    r.max_processes = std::max(r.max_processes, pt.processes);
    r.min_bandwidth = std::min(r.min_bandwidth, pt.bandwidth);
    r.max_bandwidth = std::max(r.max_bandwidth, pt.bandwidth);
    r.min_context = std::min(r.min_context, pt.context_tokens);
    r.max_context = std::max(r.max_context, pt.context_tokens);
  }
  return r;
}

std::vector<std::string> PredictorTable::off_range(int p, double bandwidth,
                                                   std::int64_t context) const {
  const TrainedRanges r = ranges();
  std::vector<std::string> out;
  if (p < r.min_processes || p > r.max_processes) {
    out.push_back(fmt::format("was trained on {} to {} GPUs, not {}", r.min_processes,
                              r.max_processes, p));
  }
  if (context < r.min_context || context > r.max_context) {
    out.push_back(fmt::format("was trained on contexts of {} to {} tokens, not {}",
                              r.min_context, r.max_context, context));
  }
  // The same relative tolerance as the interpolation's exact matches.
  if (bandwidth < r.min_bandwidth * (1 - 1e-9) || bandwidth > r.max_bandwidth * (1 + 1e-9)) {
    out.push_back(fmt::format("was trained on chain bandwidths of {:.4g} to {:.4g} GB/s, not "
                              "{:.4g} GB/s",
                              r.min_bandwidth * 1e-9, r.max_bandwidth * 1e-9, bandwidth * 1e-9));
  }
  return out;
}

const PredictorTable* PartitionPredictor::find(const PredictorKey& key) const {
  for (const auto& t : tables_) {
    if (t.key() == key) return &t;
  }
  return nullptr;
}

const PredictorTable& PartitionPredictor::table(const PredictorKey& key) const {
  std::vector<std::string> trained;
  for (const auto& t : tables_) {
    if (t.key() == key) return t;
    trained.push_back(t.key().describe());
  }
  throw std::invalid_argument(fmt::format(
      "the predictor was not trained for {}; it was trained for: {}. Train one for this setup "
      "with kvsim train-predictor, or use the search partitioner",
      key.describe(), fmt::join(trained, "; ")));
}

PredictorKey predictor_key(const PrefillSetup& setup) {
  return PredictorKey{setup.model->name, setup.gpu_name,
                      setup.options.attention == AttentionImpl::kFused ? "fused" : "eager",
                      std::string(to_string(setup.options.precision.kv_cache))};
}

double chain_bandwidth(const PrefillSetup& setup) {
  double b = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i + 1 < setup.gpus.size(); ++i) {
    b = std::min(b, setup.topology->gpu_route(setup.gpus[i], setup.gpus[i + 1]).bottleneck);
  }
  return b;
}

Partition partition_from_fractions(const std::vector<double>& fractions, std::int64_t c) {
  const auto p = static_cast<std::int64_t>(fractions.size());
  double total = 0;
  for (const double f : fractions) total += f;
  Partition out;
  double cumulative = 0;
  std::int64_t previous = 0;
  for (std::int64_t i = 0; i < p; ++i) {
    cumulative += fractions[i];
    std::int64_t cut = i + 1 == p ? c : std::llround(cumulative / total * static_cast<double>(c));
    cut = std::clamp(cut, previous + 1, c - (p - 1 - i));
    out.push_back(cut - previous);
    previous = cut;
  }
  return out;
}

}  // namespace kvsim::prefill
