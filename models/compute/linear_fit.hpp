#pragma once
// A linear model over named features (a launch term, a rate per FLOP, a rate per byte, ...),
// fitted by least squares in calibration/fit and evaluated by the calibrated compute model for
// every operation it prices. Coefficients are in seconds per unit of their feature.

#include <initializer_list>
#include <string>
#include <vector>

#include "sim/core/config.hpp"

namespace kvsim {

struct LinearFit {
  std::vector<double> coefficients;  // one per feature, in feature order
  double loo_median = 0;             // leave-one-out relative error, median
  double loo_worst = 0;              // and worst
  std::size_t points = 0;

  double predict(std::initializer_list<double> features) const;
  Json to_json(const std::vector<std::string>& names) const;
  /// Reads the coefficients named `names`, in that order (the features' order).
  static LinearFit from_json(const ConfigNode& node, const std::vector<std::string>& names);
};

}  // namespace kvsim
