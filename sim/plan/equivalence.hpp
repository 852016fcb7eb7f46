#pragma once
// Layouts whose serving simulations are provably the same, so that one layout's simulation
// stands for the others' (kvsim plan's "reuse_equivalent_layouts" shortcut).
//
// The KV block size and the preemption mode change a run only through the KV memory manager's
// answers: the block size rounds what each sequence holds, and preemption acts only when memory
// runs out. A run in which KV memory never refused an admission or a growth is therefore the
// same run, request by request, for any block size and preemption mode under which memory
// would not have refused either. That is checked per simulation from its requests:
//   each request holds KV from its admission (its first scheduling) to its completion (a run
//   stopped early at time T: every request that arrived by T and did not finish, from its
//   arrival until T, on every replica), at most peak_tokens (its prompt + output rounded up to
//   blocks, KvMemory::peak_tokens). If, on every replica, the largest sum of admitted peaks
//   over time plus the largest peak of any request (a newcomer's admission) is at most one
//   scheduler's KV capacity less vLLM's watermark reserve, no admit or grow of that layout could
//   fail on this trajectory, and nothing was preempted.
// When the proof holds for the layout that simulated AND for another layout of its group, the
// other layout's run is the same (the same timings, so the same summary; only KV held
// statistics differ, which the plan does not report). Runs with speculative decoding or
// disaggregated pools (their memory use is not bounded this way), or routed by KV memory held
// (least-kv: the block size changes what it reads), are never shared.
//
// Who calls it: evaluate_family (evaluation.hpp).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/plan/screening.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::plan {

/// Survivors with equal keys differ only in block size and preemption mode, and screen alike.
std::string equivalence_key(const Candidate& c, const Screening& s);

/// A simulation's requests as the proof sees them.
struct Trace {
  struct Span {
    double from = 0, to = 0;  // seconds: admission (or arrival), and completion (or the stop)
    int replica = -1;         // -1: not finished when the run stopped (counted on every one)
    std::int64_t prompt = 0, output = 0;
  };
  std::vector<Span> spans;
  bool provable = true;  // false: a request was preempted, or an unknown id finished
};

/// Builds a Trace from the workload the run served and the requests that finished.
class TraceRecorder {
 public:
  /// The workload's requests in id order (`arrival` in seconds), streamed from a copy.
  void expect(double arrival, std::int64_t prompt, std::int64_t output);
  void finished(const serving::RequestRecord& r);
  /// The trace of a run that completed (stopped = false) or stopped after the last finished.
  Trace trace(bool stopped) const;

 private:
  struct Expected {
    double arrival;
    std::int64_t prompt, output;
  };
  std::vector<Expected> expected_;
  std::vector<serving::RequestRecord> finished_;
};

/// What the proof needs of one layout's KV memory.
class MemoryBound {
 public:
  /// From the layout's serving setup, whose KV memories it keeps.
  explicit MemoryBound(serving::ServingSetup&& setup);
  /// Whether this layout's KV memory could not have refused anything on `trace`.
  bool never_binds(const Trace& trace) const;

 private:
  std::unique_ptr<serving::KvMemory> memory_;  // one scheduler's manager, for peak_tokens
  std::int64_t limit_ = 0;  // tokens: the smallest capacity less its watermark reserve
  int replicas_ = 1;
  bool eligible_ = false;
};

}  // namespace kvsim::plan
