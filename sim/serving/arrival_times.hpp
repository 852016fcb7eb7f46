#pragma once
// Arrivals given as explicit times, and a closed-loop client: two ways to replay a benchmark
// exactly as it ran.
//
//   "arrivals": { "type": "times", "seconds": [0, 0.012, 0.5] }   request i arrives at
//                                                                   seconds[i] (non-decreasing)
//   "workload": { ..., "max_concurrency": 8 }   at most 8 requests unfinished: a request due
//                                               while 8 are in flight waits, in order, and is
//                                               sent when one finishes
//
// The closed loop is what `vllm bench serve --max-concurrency` does, and like it a request's
// latencies (TTFT, end-to-end) count from when it is sent, not from when it was due.

#include <cstdint>
#include <optional>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/time.hpp"
#include "sim/serving/ring_queue.hpp"
#include "sim/serving/workload.hpp"

namespace kvsim::serving {

/// The "seconds" array of a "times" arrival object: finite, >= 0, non-decreasing, at least one.
std::vector<double> read_arrival_times(const ConfigNode& arrivals);

/// The client's limit on unfinished requests (none: open loop, every request sent when due).
class ClientLimit {
 public:
  explicit ClientLimit(std::optional<std::int64_t> limit) : limit_(limit) {}
  /// A request is due: true when it is sent now (it counts as in flight), false when held.
  bool admit(const Request& r) {
    if (limit_ && in_flight_ >= *limit_) {
      held_.push_back(r);
      return false;
    }
    ++in_flight_;
    return true;
  }
  /// A request finished: true when a held request takes its place (release() sends it).
  bool finish() {
    if (!held_.empty()) return true;  // the slot passes straight to the oldest held request
    --in_flight_;
    return false;
  }
  /// The oldest held request, sent at `now` (its arrival from now on).
  Request release(SimTime now) {
    Request r = held_.front();
    held_.pop_front();
    r.arrival = now;
    return r;
  }

 private:
  std::optional<std::int64_t> limit_;
  std::int64_t in_flight_ = 0;
  RingQueue<Request> held_;
};

}  // namespace kvsim::serving
