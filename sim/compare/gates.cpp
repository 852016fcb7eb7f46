// The CI gates of kvsim compare (the rules are listed in gates.hpp).
#include "sim/compare/gates.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "sim/compare/compare.hpp"
#include "sim/core/input_error.hpp"

namespace kvsim::compare {
namespace {

void check_threshold(const std::optional<double>& value, const std::string& option) {
  if (value && !(std::isfinite(*value) && *value >= 0)) {
    throw InputError("command line", option,
                     fmt::format("{} is {}: a gate threshold is a finite percentage, at least 0",
                                 option, 100 * *value));
  }
}

void fail(GateResult& r, std::string why) {
  r.passed = false;
  r.failures.push_back(std::move(why));
}

void check_points(const Comparison& c, double limit, GateResult& r) {
  std::size_t over = 0;
  for (const auto& p : c.points) {
    over += p.measured.has_ttft && std::abs(p.error) > limit ? 1 : 0;
  }
  if (over > 0) {
    fail(r, fmt::format("{} of {} points exceed --max-point-error {:.2f}%; worst {:.2f}% at {}",
                        over, c.aggregates.points, 100 * limit, 100 * c.aggregates.worst,
                        c.aggregates.worst_entry));
  }
}

// The TPOT gates: the mean and every point's absolute error, where points measured TPOT.
void check_tpot(const Comparison& c, const Gates& g, GateResult& r) {
  if (!g.max_tpot_mape && !g.max_tpot_point_error) return;
  const std::optional<ErrorSummary>& t = c.aggregates.tpot;
  if (!t) {
    fail(r, "a TPOT gate is set and no point measured TPOT (a tpot_ms with output_tokens, or a "
            "published table's token time): there is nothing to pass");
    return;
  }
  if (g.max_tpot_mape) {
    r.checks.push_back(fmt::format("--max-tpot-mape {:.2f}%", 100 * *g.max_tpot_mape));
    if (!(t->mape <= *g.max_tpot_mape)) {
      fail(r, fmt::format("TPOT mean absolute error {:.2f}% exceeds --max-tpot-mape {:.2f}%",
                          100 * t->mape, 100 * *g.max_tpot_mape));
    }
  }
  if (g.max_tpot_point_error) {
    const double limit = *g.max_tpot_point_error;
    r.checks.push_back(fmt::format("--max-tpot-point-error {:.2f}%", 100 * limit));
    std::size_t over = 0;
    for (const auto& p : c.points) over += p.tpot_error && std::abs(*p.tpot_error) > limit;
    if (over > 0) {
      fail(r, fmt::format("{} of {} points exceed --max-tpot-point-error {:.2f}%; worst TPOT "
                          "{:.2f}% at {}",
                          over, t->points, 100 * limit, 100 * t->worst, t->worst_entry));
    }
  }
}

// A quantile of each gated metric against its measured value.
void check_quantile(const Comparison& c, const Gates& g, const char* name,
                    const std::optional<double>& limit, double Quantiles::*q, GateResult& r) {
  if (!limit) return;
  for (const Distribution& d : c.aggregates.distributions) {
    if (std::find(g.metrics.begin(), g.metrics.end(), d.metric) == g.metrics.end()) continue;
    r.checks.push_back(fmt::format("{} {} within {:.2f}%", d.metric, name, 100 * *limit));
    const double measured = d.measured.*q;
    const double predicted = d.predicted.*q;
    const double error = measured > 0 ? (predicted - measured) / measured : 0.0;
    if (!(std::abs(error) <= *limit)) {
      fail(r, fmt::format("{} {} predicted {:.3f} ms against {:.3f} ms measured: {:+.2f}% "
                          "exceeds --max-{}-error {:.2f}%",
                          d.metric, name, predicted, measured, 100 * error, name, 100 * *limit));
    }
  }
}

void check_baseline(const Comparison& c, const Gates& g, GateResult& r) {
  const Json& b = *g.baseline;
  const Aggregates& a = c.aggregates;
  r.checks.push_back(fmt::format("--baseline (MAPE rise, points within {:.2f}%)",
                                 100 * g.baseline_point_error));
  const double before = b.at("aggregates").at("mape").get<double>();
  const double rise = a.mape - before;
  if (rise >= g.regression_points && (before <= 0 || rise / before >= g.regression_relative)) {
    fail(r, fmt::format("mean absolute error rose from {:.2f}% (baseline) to {:.2f}%: +{:.2f} "
                        "points, +{:.0f}% relative (alerts at +{:.2f} points and +{:.0f}%)",
                        100 * before, 100 * a.mape, 100 * rise,
                        before > 0 ? 100 * rise / before : 0.0, 100 * g.regression_points,
                        100 * g.regression_relative));
  }
  // Points predicted within --baseline-point-error in the baseline that no longer are.
  const double threshold = g.baseline_point_error;
  std::map<std::string, double> old;
  for (const Json& p : b.at("points")) {
    if (p.at("error").is_null()) continue;  // a point that measured no TTFT
    old[p.at("key").get<std::string>()] = std::abs(p.at("error").get<double>());
  }
  std::vector<std::string> newly;
  for (const auto& p : c.points) {
    const auto it = old.find(point_key(p.measured));
    if (it != old.end() && p.measured.has_ttft && it->second <= threshold &&
        std::abs(p.error) > threshold) {
      newly.push_back(fmt::format("{} ({:+.2f}%, was {:.2f}%)", p.measured.entry, 100 * p.error,
                                  100 * it->second));
    }
  }
  if (!newly.empty()) {
    fail(r, fmt::format("{} points predicted within --baseline-point-error {:.2f}% in the "
                        "baseline no longer are: {}{}",
                        newly.size(), 100 * threshold, newly.front(),
                        newly.size() > 1 ? fmt::format(" and {} more", newly.size() - 1) : ""));
  }
}

}  // namespace

void validate(const Gates& g) {
  check_threshold(g.max_mape, "--max-mape");
  check_threshold(g.max_point_error, "--max-point-error");
  check_threshold(g.max_tpot_mape, "--max-tpot-mape");
  check_threshold(g.max_tpot_point_error, "--max-tpot-point-error");
  check_threshold(g.max_p50_error, "--max-p50-error");
  check_threshold(g.max_p90_error, "--max-p90-error");
  check_threshold(g.max_p99_error, "--max-p99-error");
  check_threshold(g.regression_points, "--regression-points");
  check_threshold(g.regression_relative, "--regression-relative");
  check_threshold(g.baseline_point_error, "--baseline-point-error");
  for (const std::string& m : g.metrics) {
    if (m != "ttft" && m != "tpot" && m != "itl" && m != "e2e") {
      throw InputError("command line", "--gate-metrics",
                       fmt::format("'{}' is not a metric; {}", m,
                                   valid_values_hint(m, {"ttft", "tpot", "itl", "e2e"})));
    }
  }
}

GateResult check_gates(const Comparison& c, const Gates& g) {
  validate(g);
  GateResult r;
  r.checked = g.any();
  const Aggregates& a = c.aggregates;
  if (g.max_mape) r.checks.push_back(fmt::format("--max-mape {:.2f}%", 100 * *g.max_mape));
  if (g.max_mape && !(a.mape <= *g.max_mape)) {
    fail(r, fmt::format("mean absolute error {:.2f}% exceeds --max-mape {:.2f}%", 100 * a.mape,
                        100 * *g.max_mape));
  }
  if (g.max_point_error) {
    r.checks.push_back(fmt::format("--max-point-error {:.2f}%", 100 * *g.max_point_error));
    check_points(c, *g.max_point_error, r);
  }
  check_tpot(c, g, r);
  check_quantile(c, g, "p50", g.max_p50_error, &Quantiles::p50, r);
  check_quantile(c, g, "p90", g.max_p90_error, &Quantiles::p90, r);
  check_quantile(c, g, "p99", g.max_p99_error, &Quantiles::p99, r);
  if (g.baseline) check_baseline(c, g, r);
  return r;
}

std::string verdict(const GateResult& r) {
  if (!r.checked) return "no gate was set: nothing was checked";
  return r.passed ? "all gates passed" : "FAILED";
}

}  // namespace kvsim::compare
