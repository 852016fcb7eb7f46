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

/// Prices many operations of one shape that differ only in their sizes (one layer's decode
/// attention, batch after batch) exactly as ComputeModel::cost would, with less work per call.
/// Built by ComputeModel::decode_attention_pricer for a caller in a loop (the compiled cost);
/// not thread-safe (it may memoise as it goes); its compute model must outlive it.
class OperationPricer {
 public:
  virtual ~OperationPricer() = default;
  /// cost(op).seconds, for `op` of the shape the pricer was built for.
  virtual double seconds(const Operation& op) = 0;
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
  /// A pricer for decode attention operations shaped like `shape` (the same kind, data type,
  /// heads and head widths; other batch, KV and longest request), or null where this model has
  /// none faster than cost() (the caller then calls cost()).
  virtual std::unique_ptr<OperationPricer> decode_attention_pricer(const Operation& shape) const {
    (void)shape;
    return nullptr;
  }
};

/// Sum of op costs in seconds.
double total_seconds(const ComputeModel& model, std::span<const Operation> ops);

}  // namespace kvsim
