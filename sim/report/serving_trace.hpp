#pragma once
// `kvsim serve --trace`: the serving run as a Chrome JSON trace (the trace event format Perfetto
// and chrome://tracing load), streamed into a file while the simulation runs.
//
// Per replica (a process): one thread per pipeline stage, each batch's pass through it a
// complete event ("X"; args: prefill tokens, prefilling and decoding sequences); a stage runs
// one batch at a time, so a thread's slices never overlap. Per request, its lifetime from arrival
// to its last token as an async slice ("b"/"e", one pair per request; args: tokens, TTFT,
// queueing). Counters ("C") per replica at each timeline sample: KV tokens used and held, and
// the waiting and running queues. Bounds for large runs: events outside a time window are left
// out, requests may be sampled (every k-th id, so that at most N are drawn), and a trace
// growing past a size limit is refused (InputError) rather than filling the disk; the bounds are
// written under "otherData". Who calls it: kvsim serve. Times in the trace are microseconds
// (exact to the nanosecond: written from integer nanoseconds).

#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::report {

struct ServingTraceBounds {
  double window_start_s = 0;  // events that overlap [start, end] (seconds of simulated time)
  double window_end_s = std::numeric_limits<double>::infinity();
  std::uint64_t requests = 0;    // most request slices (0: every request)
  std::size_t limit_bytes = 0;   // refuse past this size
};

/// Parses --trace-window "START:END" (seconds, 0 <= START < END); throws InputError naming it.
void parse_trace_window(const std::string& text, ServingTraceBounds& bounds);

class ServingTrace {
 public:
  /// `out` stays owned by the caller (an OutputDirectory stream); `total_requests` sizes the
  /// request sample.
  ServingTrace(std::FILE* out, const ServingTraceBounds& bounds, std::uint64_t total_requests);
  ServingTrace(const ServingTrace&) = delete;
  ServingTrace& operator=(const ServingTrace&) = delete;

  /// `observers` with the trace's own added after theirs (request, timeline, iteration).
  serving::ServingObservers attach(serving::ServingObservers observers);
  /// Ends the JSON; `warnings` and the bounds go under "otherData". Returns what it says of the
  /// bounds, for the command's output.
  std::string finish(const std::string& scenario, const Json& warnings);

 private:
  void iteration(const serving::IterationRecord& r);
  void request(const serving::RequestRecord& q);
  void counters(const serving::TimelineSample& t);
  void name_track(int replica, int stage);
  void emit(const std::string& event);
  bool in_window(std::int64_t start_ns, std::int64_t end_ns) const;

  std::FILE* out_;
  ServingTraceBounds bounds_;
  std::int64_t window_start_ns_, window_end_ns_;
  std::uint64_t stride_;  // a request slice for every stride-th id
  std::size_t bytes_ = 0;
  std::uint64_t events_ = 0;
  std::vector<std::vector<bool>> named_;  // [replica][stage]: its metadata written
};

}  // namespace kvsim::report
