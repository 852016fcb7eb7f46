#include "calibration/engine/linear_model.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"

namespace kvsim::engine_fit {
namespace {

Eigen::VectorXd predict_at(const Json& base, const std::vector<Parameter>& parameters,
                           const Eigen::VectorXd& x, const Predictor& predict, std::size_t n) {
  const std::vector<double> values(x.data(), x.data() + x.size());
  const std::vector<double> out = predict(with_values(base, parameters, values));
  if (out.size() != n) {
    throw std::logic_error(fmt::format("the predictor returned {} values for {} observations",
                                       out.size(), n));
  }
  Eigen::VectorXd v(static_cast<Eigen::Index>(n));
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(out[i])) throw std::logic_error("a prediction is not finite");
    v(static_cast<Eigen::Index>(i)) = out[i];
  }
  return v;
}

// Refuses a parameter whose second step does not repeat its first step's effect.
void check_linear(const Parameter& p, const Eigen::VectorXd& p0, const Eigen::VectorXd& p1,
                  const Eigen::VectorXd& p2, const std::vector<Observation>& obs) {
  for (Eigen::Index i = 0; i < p0.size(); ++i) {
    const double first = p1(i) - p0(i), second = p2(i) - p1(i);
    if (std::abs(second - first) <= 1e-3 * std::abs(first) + 1e-4) continue;
    const Observation& o = obs[static_cast<std::size_t>(i)];
    throw InputError(
        "--fit", "",
        fmt::format("{} does not enter the predictions linearly: at {} ({}), moving it by {} "
                    "changed the prediction by {:.6g} ms and the next {} by {:.6g} ms; "
                    "calibrate-engine fits only parameters whose effect adds up (durations, "
                    "attention time_scale); leave it out of --fit and set it in the base engine",
                    p.pointer, o.entry, o.metric, format_value(p, p.step), first,
                    format_value(p, p.step), second));
  }
}

}  // namespace

Eigen::VectorXd LinearModel::predict(const Eigen::VectorXd& x) const {
  Eigen::VectorXd base(static_cast<Eigen::Index>(parameters.size()));
  for (std::size_t j = 0; j < parameters.size(); ++j) {
    base(static_cast<Eigen::Index>(j)) = parameters[j].base;
  }
  return at_base + slope * (x - base);
}

LinearModel linearise(const Json& base_engine, const std::vector<Parameter>& parameters,
                      const std::vector<Observation>& observations, const Predictor& predict,
                      const OnPrediction& progress) {
  const std::size_t n = observations.size();
  const auto m = static_cast<Eigen::Index>(parameters.size());
  const std::size_t total = 1 + 2 * parameters.size();
  Eigen::VectorXd x0(m);
  for (Eigen::Index j = 0; j < m; ++j) x0(j) = parameters[static_cast<std::size_t>(j)].base;
  LinearModel model;
  model.parameters = parameters;
  model.at_base = predict_at(base_engine, parameters, x0, predict, n);
  if (progress) progress(1, total);
  model.slope.resize(static_cast<Eigen::Index>(n), m);
  for (Eigen::Index j = 0; j < m; ++j) {
    const Parameter& p = parameters[static_cast<std::size_t>(j)];
    Eigen::VectorXd x1 = x0, x2 = x0;
    x1(j) += p.step;
    x2(j) += 2 * p.step;
    const Eigen::VectorXd p1 = predict_at(base_engine, parameters, x1, predict, n);
    if (progress) progress(2 + 2 * static_cast<std::size_t>(j), total);
    const Eigen::VectorXd p2 = predict_at(base_engine, parameters, x2, predict, n);
    if (progress) progress(3 + 2 * static_cast<std::size_t>(j), total);
    check_linear(p, model.at_base, p1, p2, observations);
    model.slope.col(j) = (p1 - model.at_base) / p.step;
  }
  return model;
}

}  // namespace kvsim::engine_fit
