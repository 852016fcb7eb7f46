#pragma once
// The partitioner slot for KV-Runahead: how many of the C context tokens each of the p
// processes in the chain owns (c_1 + ... + c_p = C, each c_i >= 1).
//
// Called once per KV-Runahead run, before simulation. A partitioner may evaluate candidate
// partitions through the query's `evaluate` (simulated TTFT), which is thread-safe; it must be
// deterministic for a given query. Before anything runs, the scenario loader calls check() with
// the chain the partitioner will split, so impossible settings are refused as input errors and
// answers kvsim cannot fully stand behind are flagged as warnings.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/registry.hpp"
#include "sim/core/time.hpp"
#include "sim/prefill/memory_plan.hpp"

namespace kvsim::prefill {

using Partition = std::vector<std::int64_t>;

struct PrefillSetup;

struct PartitionQuery {
  std::int64_t context_tokens = 0;
  int processes = 0;
  const PrefillSetup* setup = nullptr;  // the run being partitioned (model, GPUs, topology)
  std::function<Duration(const Partition&)> evaluate;  // simulated TTFT of a candidate
  // The usable bytes per GPU and what a candidate needs there: a partitioner never returns a
  // partition whose plan overflows the capacity. Without a capacity (unit tests of timing
  // alone) every partition fits.
  std::optional<MemoryCapacity> capacity;
  std::function<MemoryPlan(const Partition&)> memory_plan;

  /// Why `partition` does not fit in memory (memory_overflow); empty when it fits.
  std::string overflow(const Partition& partition) const;
  /// The bytes on the fullest GPU of `partition`'s plan (0 without a plan).
  double peak_bytes(const Partition& partition) const;
};

class Partitioner {
 public:
  virtual ~Partitioner() = default;
  virtual std::string name() const = 0;
  virtual Partition partition(const PartitionQuery& query) const = 0;
  /// Throws InputError (naming the scenario entry) when the partitioner cannot split the
  /// query's chain; returns warnings, each a sentence that also reads as the error `--strict`
  /// makes of it, when its answer is less than it claims (KVR-P off its trained ranges). The
  /// query's `evaluate` may be empty: check() must not simulate.
  virtual std::vector<std::string> check(const PartitionQuery& /*query*/) const { return {}; }
  virtual Json to_json() const = 0;
};

using PartitionerRegistry = Registry<std::unique_ptr<Partitioner>>;
const PartitionerRegistry& partitioners();

/// Each process's share of the context.
std::vector<double> partition_fractions(const Partition& partition);

/// The even split (KVR-E): C/p each, the remainder spread over the first processes.
Partition even_partition(std::int64_t context_tokens, int processes);

}  // namespace kvsim::prefill
