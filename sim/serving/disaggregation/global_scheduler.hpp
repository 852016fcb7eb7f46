#pragma once
// Global schedulers (registry family "global scheduler"): which prefill instance a new request
// joins and, when its KV transfer is to start, which decode instance receives it.
//
//   round-robin          prefill instances in turn; decode instances in turn, skipping those
//                        without room for the request's KV;
//   join-shortest-queue  the prefill instance with the fewest requests queued or running; the
//                        decode instance with room and the fewest requests held;
//   least-kv             the prefill instance with the fewest prompt tokens queued or running;
//                        the decode instance with room and the smallest share of its KV held.
// Ties go to the lowest index, so scheduling is deterministic.
//
// Who calls it: the disaggregated run (disaggregated_run.cpp), on each arrival (prefill) and
// each transfer start (decode). A decode choice may be "none": no instance has room, and the
// request waits (back-pressure on its prefill instance).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "sim/core/registry.hpp"

namespace kvsim::serving::disaggregation {

/// What a global scheduler sees of an instance.
struct InstanceLoad {
  std::size_t requests = 0;   // prefill: queued or running; decode: whose KV it holds
  std::int64_t tokens = 0;    // prefill: prompt tokens queued or running; decode: KV reserved
  std::int64_t capacity = 0;  // decode: KV tokens it can hold (0 for prefill instances)
};

class GlobalScheduler {
 public:
  virtual ~GlobalScheduler() = default;
  virtual std::size_t prefill(std::span<const InstanceLoad> instances) = 0;
  /// An instance with room for `kv_tokens` more, or none.
  virtual std::optional<std::size_t> decode(std::span<const InstanceLoad> instances,
                                            std::int64_t kv_tokens) = 0;
  virtual const char* name() const = 0;
};

using GlobalSchedulerRegistry = Registry<std::unique_ptr<GlobalScheduler>>;
const GlobalSchedulerRegistry& global_schedulers();

}  // namespace kvsim::serving::disaggregation
