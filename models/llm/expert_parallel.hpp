#pragma once
// A layout's "expert_parallel" choice (prefill strategies tp and tsp, decode, serving replicas)
// as written in a scenario: off, every GPU of the layout, or a degree. Read once where the
// layout is parsed; resolved against the layout's GPU count by the strategy or replica that
// prices it (DecomposeOptions::expert_parallel is the resolved degree).

#include <cstdint>
#include <string>

#include "sim/core/config.hpp"

namespace kvsim {

/// A layout's "expert_parallel" choice as written: off (false or absent), every GPU of the
/// layout (true), or a degree (a count): the routed experts split over that many GPUs, each
/// expert sharded over the layout's GPUs / degree of them (expert-TP) or, where tokens are not
/// replicated (tsp), the experts copied once per group of `degree` GPUs. Strategies, decode
/// and serving replicas resolve it against their GPU count with over().
class ExpertParallel {
 public:
  ExpertParallel() = default;
  ExpertParallel(bool all) : degree_(all ? kAll : 0) {}  // NOLINT: true/false as written in JSON
  template <class T>
  ExpertParallel(T) = delete;  // a degree is explicit: ExpertParallel::of(n)
  static ExpertParallel of(std::int64_t degree);

  bool on() const { return degree_ != 0; }
  bool all() const { return degree_ == kAll; }
  /// The degree on a layout of `gpus` GPUs: 1 when off, `gpus` for "all".
  std::int64_t over(std::int64_t gpus) const;
  /// As written: true, or the degree (callers write nothing when off).
  Json to_json() const;
  /// A label suffix: "" off, "/ep" all, "/ep4" a degree.
  std::string label() const;

 private:
  static constexpr std::int64_t kAll = -1;
  std::int64_t degree_ = 0;
};

/// Reads `key` of `node` (absent: off): true, false or a count >= 1.
ExpertParallel read_expert_parallel(const ConfigNode& node, const std::string& key);

}  // namespace kvsim
