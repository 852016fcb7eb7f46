#pragma once
// The measured metrics of a fit and their linear dependence on the engine parameters.
//
// An Observation is one measured number: a row's TTFT or TPOT (ms). A Predictor maps an engine
// object to the predicted value of every observation, in order (compare_predictor.hpp
// implements it with `kvsim compare`; tests use kvsim or closed forms). Every fitted parameter
// enters predictions linearly, so finite differences give exact features: the prediction at the
// base engine and at each parameter moved by one step; a second step checks the linearity and
// a parameter that fails it is refused by name.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Dense>

#include "calibration/engine/parameters.hpp"

namespace kvsim::engine_fit {

struct Observation {
  std::string entry;          // "file.csv line 5"
  std::string metric;         // "ttft" or "tpot"
  double measured_ms = 0;     // positive, finite
  std::string configuration;  // what identifies the measured configuration (repeats share it)
  std::string model, gpu;     // for leave-one-model-out and leave-one-GPU-out
  // The row's inputs as (name, value), e.g. ("prompt length", "128"): what under-determination
  // messages quote when one value covers every row.
  std::vector<std::pair<std::string, std::string>> inputs;
};

/// Predicted ms of every observation, in order, for an engine object.
using Predictor = std::function<std::vector<double>(const Json& engine)>;

struct LinearModel {
  std::vector<Parameter> parameters;
  Eigen::VectorXd at_base;    // predicted ms per observation at the base engine
  Eigen::MatrixXd slope;      // d predicted ms / d parameter (ms per us, or per unit of scale)
  /// Predictions (ms) at parameter values `x` (the parameters' units).
  Eigen::VectorXd predict(const Eigen::VectorXd& x) const;
};

/// Called after each of the 1 + 2 x parameters predictions (for progress on a terminal).
using OnPrediction = std::function<void(std::size_t done, std::size_t total)>;

/// Builds the linear model by finite differences around `base_engine`; throws InputError
/// naming the parameter (and the worst observation) when a second step is not linear to
/// 1e-3 of the first step's effect (plus 1e-4 ms for rounding to the nanosecond).
LinearModel linearise(const Json& base_engine, const std::vector<Parameter>& parameters,
                      const std::vector<Observation>& observations, const Predictor& predict,
                      const OnPrediction& progress = {});

}  // namespace kvsim::engine_fit
