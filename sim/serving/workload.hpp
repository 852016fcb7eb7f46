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
// Trace files are in the Splitwise/Vidur format. Prompt + output is clipped to the model's
// context, or to max_tokens.

#include <memory>
#include <optional>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/random.hpp"
#include "sim/core/time.hpp"

namespace kvsim::serving {

struct Request {
  std::uint64_t id = 0;
  SimTime arrival{0};
  std::int64_t prompt = 0;
  std::int64_t output = 0;  // tokens to generate, at least 1
};

class Workload {
 public:
  /// Reads the "workload" object; `max_context` clips prompt + output.
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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint64_t total_ = 0;
  std::optional<std::int64_t> max_concurrency_;
  Json resolved_;
};

}  // namespace kvsim::serving
