#pragma once
// The continuous engine parameters that `kvsim calibrate-engine` fits, named by JSON pointers
// into the engine object ("/host/per_pass", "/attention/time_scale", "/all_reduce/latency/8").
//
// Called once per fit by the command and the fitting core. Only quantities that enter
// predictions linearly are fittable: durations (held here in microseconds) and dimensionless
// scale factors. A bandwidth, a size, a flag or a name is refused by pointer. Every fitted
// value is non-negative.

#include <string>
#include <vector>

#include "sim/core/json_input.hpp"

namespace kvsim::engine_fit {

enum class ParameterKind { duration_us, scale };

struct Parameter {
  std::string pointer;  // into the engine object, e.g. "/host/per_pass"
  ParameterKind kind = ParameterKind::duration_us;
  double base = 0;      // the base engine's value: microseconds or a plain ratio
  double step = 1;      // finite-difference step, same unit (large enough to beat ns rounding)
};

/// Resolves `pointers` against `base_engine` (an engine object); `source` names where they came
/// from in errors ("--fit"). Throws InputError naming the pointer when it is malformed, missing
/// from the base engine (listing the fittable ones), repeated, or not a duration or a number.
std::vector<Parameter> resolve_parameters(const Json& base_engine,
                                          const std::vector<std::string>& pointers,
                                          const std::string& source);

/// Every fittable leaf of `engine` (durations and numbers), for messages and --help.
std::vector<std::string> fittable_pointers(const Json& engine);

/// `engine` with each parameter set to `values[i]` (durations written as "12.345us", to the
/// nanosecond; scales to 6 significant digits), the form a profile file holds.
Json with_values(const Json& engine, const std::vector<Parameter>& parameters,
                 const std::vector<double>& values);

/// The value as `with_values` writes it, read back (what predictions will use).
double rounded(const Parameter& p, double value);

/// "12.345us" or "1.08"; for reports.
std::string format_value(const Parameter& p, double value);

}  // namespace kvsim::engine_fit
