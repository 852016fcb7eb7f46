#include "calibration/engine/fit.hpp"

#include <cmath>
#include <set>

#include <fmt/format.h>

#include "calibration/engine/nnls.hpp"
#include "sim/core/input_error.hpp"
#include "sim/core/statistics.hpp"

namespace kvsim::engine_fit {
namespace {

struct Solution {
  std::vector<double> values;
  std::vector<bool> at_bound;
};

// min sum over `rows` of ((predicted - measured) / measured)^2 with every parameter >= 0.
// predicted = at_base + slope (x - base), so the target is measured - at_base + slope base.
// Columns are scaled to unit norm for the solver and the solution scaled back.
Solution solve(const LinearModel& model, const std::vector<Observation>& obs,
               const std::vector<std::size_t>& rows) {
  const Eigen::Index p = model.slope.cols();
  Eigen::VectorXd base(p);
  for (Eigen::Index j = 0; j < p; ++j) base(j) = model.parameters[static_cast<std::size_t>(j)].base;
  Eigen::MatrixXd a(static_cast<Eigen::Index>(rows.size()), p);
  Eigen::VectorXd b(static_cast<Eigen::Index>(rows.size()));
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto i = static_cast<Eigen::Index>(rows[r]);
    const double m = obs[rows[r]].measured_ms;
    a.row(static_cast<Eigen::Index>(r)) = model.slope.row(i) / m;
    b(static_cast<Eigen::Index>(r)) = (m - model.at_base(i) + model.slope.row(i).dot(base)) / m;
  }
  const Eigen::VectorXd norms = a.colwise().norm().transpose();
  const Eigen::VectorXd y = solve_nnls(a * norms.cwiseInverse().asDiagonal(), b);
  Solution s;
  for (Eigen::Index j = 0; j < p; ++j) {
    const Parameter& param = model.parameters[static_cast<std::size_t>(j)];
    s.values.push_back(rounded(param, y(j) / norms(j)));
    s.at_bound.push_back(y(j) <= 0);
  }
  return s;
}

std::vector<std::optional<double>> predictions(const LinearModel& model,
                                               const std::vector<double>& values) {
  const Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(
      values.data(), static_cast<Eigen::Index>(values.size()));
  const Eigen::VectorXd v = model.predict(x);
  return {v.data(), v.data() + v.size()};
}

std::vector<std::string> keys(const std::vector<Observation>& obs, const std::string& grouping) {
  std::vector<std::string> out;
  for (const Observation& o : obs) {
    out.push_back(grouping == "model" ? o.model : grouping == "gpu" ? o.gpu : o.configuration);
  }
  return out;
}

// Each group left out in turn: refit on the rest (at least one configuration per parameter),
// predict the group.
HeldOut leave_one_out(const LinearModel& model, const std::vector<Observation>& obs,
                      const std::string& grouping) {
  HeldOut h;
  h.grouping = grouping;
  h.predicted.assign(obs.size(), std::nullopt);
  const std::vector<std::string> key = keys(obs, grouping);
  const std::set<std::string> groups(key.begin(), key.end());
  h.groups = groups.size();
  if (groups.size() < 2) return h;  // nothing is left to fit on
  for (const std::string& g : groups) {
    std::vector<std::size_t> train, test;
    for (std::size_t i = 0; i < obs.size(); ++i) (key[i] == g ? test : train).push_back(i);
    const std::size_t needed = model.parameters.size();
    if (const auto why = underdetermined(model, obs, train, needed)) {
      h.undetermined.push_back(fmt::format("{}: {}", g, *why));
      continue;
    }
    const auto fitted = predictions(model, solve(model, obs, train).values);
    for (const std::size_t i : test) h.predicted[i] = fitted[i];
  }
  h.errors = error_stats(obs, h.predicted);
  return h;
}

}  // namespace

MetricErrors error_stats(const std::vector<Observation>& observations,
                         const std::vector<std::optional<double>>& predicted) {
  std::map<std::string, std::vector<double>> absolute;
  MetricErrors out;
  for (std::size_t i = 0; i < observations.size(); ++i) {
    if (!predicted[i]) continue;
    const Observation& o = observations[i];
    const double e = (*predicted[i] - o.measured_ms) / o.measured_ms;
    ErrorStats& s = out[o.metric];
    if (std::abs(e) >= s.worst) {
      s.worst = std::abs(e);
      s.worst_entry = o.entry;
    }
    s.bias += e;
    ++s.count;
    absolute[o.metric].push_back(std::abs(e));
  }
  for (auto& [metric, s] : out) {
    s.bias /= static_cast<double>(s.count);
    s.median = median(absolute[metric]);
  }
  return out;
}

EngineFit fit_engine(const LinearModel& model, const std::vector<Observation>& observations,
                     const std::string& source) {
  std::vector<std::size_t> all(observations.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  if (const auto why = underdetermined(model, observations, all, model.parameters.size() + 1)) {
    throw InputError(source, "", "the fit is under-determined: " + *why);
  }
  const Solution s = solve(model, observations, all);
  EngineFit f;
  f.values = s.values;
  f.at_bound = s.at_bound;
  const auto in_sample = predictions(model, s.values);
  for (const auto& v : in_sample) f.predicted.push_back(*v);
  f.in_sample = error_stats(observations, in_sample);
  for (const char* grouping : {"configuration", "model", "gpu"}) {
    f.held_out.push_back(leave_one_out(model, observations, grouping));
  }
  return f;
}

}  // namespace kvsim::engine_fit
