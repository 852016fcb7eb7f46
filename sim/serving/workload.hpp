#pragma once
// Serving workloads: a stream of requests (arrival time, prompt and output lengths), generated
// lazily so memory does not grow with the number of requests, and deterministic from the seed
// (each part draws from its own named random stream).
//
//   "workload": { "requests": 10000,
//                 "arrivals": { "type": "poisson", "rate": "4/s" },
//                 "lengths": { "type": "trace", "file": "conv.csv", "max_tokens": 4096 } }
//
// Arrivals: poisson (rate), gamma (rate, cv: the gaps' coefficient of variation; above 1 is
// burstier than Poisson), fixed (rate), trace (the arrived_at column of a CSV, replayed), burst
// (every request at time 0, as a benchmark client with an infinite rate sends them), times
// (explicit arrival times, and "max_concurrency" for a closed-loop client: arrival_times.hpp).
// Lengths: fixed (prompt, output), uniform (prompt_min/max, output_min/max), lognormal
// (prompt_median, prompt_sigma, output_median, output_sigma), zipf (prompt_min/max/theta,
// output_min/max/theta: P(k) ~ (k - min + 1)^-theta), trace (num_prefill_tokens and
// num_decode_tokens of a CSV in order, cycling; the arrival trace's own when no file is given),
// empirical (rows of a CSV drawn at random; prompt_column and output_column name the columns),
// list (prompts and outputs given inline as arrays, in order, cycling).
// Trace files are in the Splitwise/Vidur format; an arrival trace must be in arrival order
// (kvsim replays rows as they come and rejects a row earlier than the one before it).
// Lengths are never changed silently: a request whose prompt + output exceeds the model's
// context is rejected by the engine (as vLLM answers it with an error) and counted; only an
// explicit `max_tokens` (as in Vidur's trace generator) truncates prompt + output to at most
// max_tokens, and the engine counts and reports each truncated request. Lognormal draws are
// rounded to whole tokens, at least 1.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/random.hpp"
#include "sim/core/time.hpp"

namespace kvsim::serving {

/// Bounds on what a workload may ask for, checked when it is read (so that no count, sum of
/// lengths or block count can overflow, and no run is unboundedly long). Raise them here.
inline constexpr std::int64_t kMaxRequestTokens = std::int64_t{1} << 30;  // prompt or output
inline constexpr std::int64_t kMaxRequests = 100'000'000;  // a million take ~3 s on one core
inline constexpr double kMaxArrivalSeconds = 1e9;          // about 31 years of arrivals

struct Request {
  std::uint64_t id = 0;
  SimTime arrival{0};
  std::int64_t prompt = 0;
  std::int64_t output = 0;  // tokens to generate, at least 1
  std::int64_t source = -1;  // the trace row or list entry of its lengths (0-based), if any
  bool truncated = false;    // prompt + output cut to lengths.max_tokens
};

class Workload {
 public:
  /// Reads the "workload" object; `max_context` (the model's context, tokens) bounds
  /// lengths.max_tokens.
  Workload(const ConfigNode& node, const RandomStreams& random, std::int64_t max_context);
  ~Workload();
  Workload(Workload&&) noexcept;
  /// The next request in arrival order, or nothing when the workload is exhausted.
  std::optional<Request> next();
  std::uint64_t total() const { return total_; }
  /// A closed-loop client's limit on unfinished requests ("max_concurrency"; see
  /// arrival_times.hpp); none: every request is sent when due.
  std::optional<std::int64_t> max_concurrency() const { return max_concurrency_; }
  Json to_json() const { return resolved_; }
  /// "request 7 (line 9 of 'conv.csv')": a request and where its lengths came from.
  std::string describe(const Request& r) const;
  /// The scenario file and the JSON pointer of the workload's lengths, for errors about them.
  const std::string& file() const { return file_; }
  const std::string& lengths_pointer() const { return lengths_pointer_; }
  /// lengths.max_tokens, or 0 when lengths are not truncated.
  std::int64_t max_tokens() const;

 private:
  struct Impl;
  void read_count(const ConfigNode& n);  // "requests", bounded and checked against a trace
  std::unique_ptr<Impl> impl_;
  std::uint64_t total_ = 0;
  std::optional<std::int64_t> max_concurrency_;
  Json resolved_;
  std::string file_, lengths_pointer_;
};

}  // namespace kvsim::serving
