#pragma once
// The compute-model slot: how long one operation takes on one GPU.
//
// Called by prefill strategies and serving schedulers for every kernel they place on a GPU's
// compute stream (often in inner loops: implementations must be pure and cheap). Returns double
// seconds; callers convert to simulated time once. Every answer says where it came from.

#include <memory>
#include <string>
#include <vector>

#include "models/compute/gpu_spec.hpp"
#include "models/llm/operations.hpp"

namespace kvsim {

// kDerived: priced from another measurement by a documented rule (a precision or a GPU the
// profile did not measure; derived_profile.hpp), with a load-time warning naming the rule.
enum class Provenance { kMeasured, kInterpolated, kExtrapolated, kRoofline, kDerived };
std::string to_string(Provenance p);

struct OpCost {
  double seconds = 0;
  Provenance provenance = Provenance::kRoofline;
};

class ComputeModel {
 public:
  virtual ~ComputeModel() = default;
  virtual OpCost cost(const Operation& op) const = 0;
  /// One line: which model, which device, key parameters.
  virtual std::string describe() const = 0;
  virtual Json to_json() const = 0;
  /// What this model assumed for a scenario run at `precision`, for Scenario::warnings (load
  /// time): costs it derives rather than measured. Empty when it assumes nothing.
  virtual std::vector<std::string> warnings(const Precision& precision) const {
    (void)precision;
    return {};
  }
};

/// Sum of op costs in seconds.
double total_seconds(const ComputeModel& model, std::span<const Operation> ops);

}  // namespace kvsim
