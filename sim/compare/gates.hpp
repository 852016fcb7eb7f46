#pragma once
// The CI gates of kvsim compare. Every rule is here, and each is an option of the command:
//   max_mape         the TTFT mean absolute error exceeds it
//   max_point_error  any point's TTFT absolute error exceeds it
//   max_tpot_mape, max_tpot_point_error  the same for TPOT, over the kvsim points that
//                    measured one (a CSV row's tpot_ms, a published table's token time); set
//                    where no point measured TPOT, they fail: there is nothing to pass
//   max_p50/p90/p99_error  a quantile of a compared metric (TTFT; TPOT, ITL and E2E where the
//                    simulation predicts them) is off its measured value by more than this
//                    fraction; `metrics` narrows which metrics these gates apply to
//   baseline         a previous compare.json: the TTFT MAPE rose by regression_points (absolute)
//                    AND by regression_relative of its old value; or a point within
//                    baseline_point_error in the baseline is no longer
// Thresholds are fractions, finite and non-negative (anything else is an InputError). With no
// gate set nothing is checked, and the result says so.

#include <optional>
#include <string>
#include <vector>

#include "sim/core/config.hpp"

namespace kvsim::compare {

struct Comparison;

struct Gates {
  std::optional<double> max_mape;         // fraction
  std::optional<double> max_point_error;  // fraction
  std::optional<double> max_tpot_mape, max_tpot_point_error;  // fractions
  std::optional<double> max_p50_error, max_p90_error, max_p99_error;  // fractions
  std::vector<std::string> metrics{"ttft", "tpot", "itl", "e2e"};  // for the quantile gates
  std::optional<Json> baseline;           // a previous compare JSON
  double regression_points = 0.01;        // absolute MAPE rise (fraction) ...
  double regression_relative = 0.10;      // ... and relative rise, both needed to alert
  double baseline_point_error = 0.15;     // with a baseline: points that were within it

  bool any() const {
    return max_mape || max_point_error || max_tpot_mape || max_tpot_point_error ||
           max_p50_error || max_p90_error || max_p99_error ||
           baseline;
  }
};

struct GateResult {
  bool checked = false;               // false: no gate was set, nothing was checked
  bool passed = true;
  std::vector<std::string> checks;    // what was checked: "--max-mape 5.00%", "ttft p99 ..."
  std::vector<std::string> failures;  // one line per failed gate, saying why
};

/// Throws InputError (naming the option) for a threshold that is not finite and >= 0.
void validate(const Gates& gates);

GateResult check_gates(const Comparison& c, const Gates& gates);

/// "no gate was set: nothing was checked", "all gates passed" or "FAILED".
std::string verdict(const GateResult& r);

}  // namespace kvsim::compare
