// underdetermined(): whether a set of rows can separate every fitted parameter (fit.hpp).
#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "calibration/engine/fit.hpp"

namespace kvsim::engine_fit {
namespace {

// Rows' slopes divided by the measurement: the columns the relative-error fit works with.
Eigen::MatrixXd weighted(const LinearModel& model, const std::vector<Observation>& obs,
                         const std::vector<std::size_t>& rows) {
  Eigen::MatrixXd a(static_cast<Eigen::Index>(rows.size()), model.slope.cols());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    a.row(static_cast<Eigen::Index>(r)) =
        model.slope.row(static_cast<Eigen::Index>(rows[r])) / obs[rows[r]].measured_ms;
  }
  return a;
}

// "every row has TP 8, batch 1" and the names to vary, from the inputs one value covers.
std::string what_to_measure(const std::vector<Observation>& obs,
                            const std::vector<std::size_t>& rows) {
  std::vector<std::string> same, names;
  for (std::size_t k = 0; k < obs[rows.front()].inputs.size(); ++k) {
    // Named references, not a structured binding: clang 14 (the fuzz and sanitizer builds) cannot
    // capture a structured binding in a lambda.
    const std::string& name = obs[rows.front()].inputs[k].first;
    const auto& value = obs[rows.front()].inputs[k].second;
    const bool constant = std::all_of(rows.begin(), rows.end(), [&](std::size_t r) {
      return obs[r].inputs.size() > k && obs[r].inputs[k].second == value;
    });
    if (!constant) continue;
    same.push_back(fmt::format("{} {}", name, value));
    names.push_back(name);
  }
  if (same.empty()) return "measure configurations that differ in what this parameter prices";
  return fmt::format("every row has {}; measure a configuration with another {}",
                     fmt::join(same, ", "), fmt::join(names, " or "));
}

// The residual of column j regressed on the other (unit-norm) columns, and the column that
// explains most of it.
std::pair<double, Eigen::Index> collinearity(const Eigen::MatrixXd& unit, Eigen::Index j) {
  Eigen::MatrixXd others(unit.rows(), unit.cols() - 1);
  std::vector<Eigen::Index> index;
  for (Eigen::Index k = 0; k < unit.cols(); ++k) {
    if (k == j) continue;
    others.col(static_cast<Eigen::Index>(index.size())) = unit.col(k);
    index.push_back(k);
  }
  const Eigen::VectorXd beta = others.colPivHouseholderQr().solve(unit.col(j));
  Eigen::Index partner = 0;
  beta.cwiseAbs().maxCoeff(&partner);
  return {(unit.col(j) - others * beta).norm(), index[static_cast<std::size_t>(partner)]};
}

}  // namespace

std::optional<std::string> underdetermined(const LinearModel& model,
                                           const std::vector<Observation>& observations,
                                           const std::vector<std::size_t>& rows,
                                           std::size_t min_configurations) {
  std::set<std::string> configurations;
  for (const std::size_t r : rows) configurations.insert(observations[r].configuration);
  const std::size_t p = model.parameters.size();
  if (rows.empty() || configurations.size() < min_configurations) {
    return fmt::format("{} distinct configurations for {} parameters: the fit needs at least {}; "
                       "{}",
                       configurations.size(), p, min_configurations,
                       rows.empty() ? "measure some" : what_to_measure(observations, rows));
  }
  const Eigen::MatrixXd a = weighted(model, observations, rows);
  const double largest = a.colwise().norm().maxCoeff();
  Eigen::MatrixXd unit = a;
  for (Eigen::Index j = 0; j < a.cols(); ++j) {
    const double norm = a.col(j).norm();
    if (!(norm > 1e-9 * largest)) {
      return fmt::format("no measured row depends on {}: {}", model.parameters[j].pointer,
                         what_to_measure(observations, rows));
    }
    unit.col(j) /= norm;
  }
  // Last to first, so the message names the later of two indistinguishable parameters.
  for (Eigen::Index j = a.cols() - 1; j >= 0 && a.cols() > 1; --j) {
    const auto [residual, partner] = collinearity(unit, j);
    if (residual > 1e-3) continue;
    return fmt::format("{} is indistinguishable from {} on these measurements: {}",
                       model.parameters[static_cast<std::size_t>(j)].pointer,
                       model.parameters[static_cast<std::size_t>(partner)].pointer,
                       what_to_measure(observations, rows));
  }
  return std::nullopt;
}

}  // namespace kvsim::engine_fit
