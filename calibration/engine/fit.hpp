#pragma once
// The engine fit: non-negative least squares on relative errors over a LinearModel, the
// refusal of under-determined fits, and held-out errors (each configuration, model and GPU left
// out in turn, the rest refitted, the left-out rows predicted).
//
// Called by `kvsim calibrate-engine` after linearise(); pure arithmetic, no prediction runs.
// Errors are (predicted - measured) / measured, as fractions.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "calibration/engine/linear_model.hpp"

namespace kvsim::engine_fit {

struct ErrorStats {
  std::size_t count = 0;
  double median = 0;  // of absolute errors
  double worst = 0;   // largest absolute error
  double bias = 0;    // mean signed error
  std::string worst_entry;
};

/// Errors by metric ("ttft", "tpot") of the observations that have a prediction.
using MetricErrors = std::map<std::string, ErrorStats>;

struct HeldOut {
  std::string grouping;              // "configuration", "model" or "gpu"
  std::size_t groups = 0;            // distinct values of the grouping
  std::vector<std::optional<double>> predicted;  // ms per observation; none: not determined
  std::vector<std::string> undetermined;         // "group: why its refit was refused"
  MetricErrors errors;
};

struct EngineFit {
  std::vector<double> values;         // fitted, rounded as the profile writes them
  std::vector<bool> at_bound;         // held at 0 by the constraint (the data wanted less)
  std::vector<double> predicted;      // in-sample, ms per observation
  MetricErrors in_sample;
  std::vector<HeldOut> held_out;      // configuration, model, gpu
};

/// Why the rows `rows` cannot determine every parameter (a parameter no row depends on, one
/// indistinguishable from the others, fewer than `min_configurations` distinct configurations),
/// naming the parameter and what to measure next; none when they can.
std::optional<std::string> underdetermined(const LinearModel& model,
                                           const std::vector<Observation>& observations,
                                           const std::vector<std::size_t>& rows,
                                           std::size_t min_configurations);

/// Fits on every observation; throws InputError (file `source`) when under-determined, which
/// includes fewer distinct configurations than parameters + 1.
EngineFit fit_engine(const LinearModel& model, const std::vector<Observation>& observations,
                     const std::string& source);

/// Relative errors of `predicted` by metric; observations without a prediction are skipped.
MetricErrors error_stats(const std::vector<Observation>& observations,
                         const std::vector<std::optional<double>>& predicted);

}  // namespace kvsim::engine_fit
