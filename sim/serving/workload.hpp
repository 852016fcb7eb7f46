#pragma once
// Serving workloads: a stream of requests (arrival time, prompt and output lengths), generated
// lazily so memory does not grow with the number of requests, and deterministic from the seed
// (each part draws from its own named random stream).
//
//   "workload": { "requests": 10000,
//                 "arrivals": { "type": "poisson", "rate": "4/s" },   // gamma (rate, cv),
//                                                                     // fixed (rate), trace
//                 "lengths": { "type": "trace", "file": "conv.csv" } } // fixed, uniform,
//                                                                     // lognormal, trace
// Trace files are CSV with arrived_at (seconds), num_prefill_tokens and num_decode_tokens
// columns (the Splitwise/Vidur format). Lengths are clipped to the model's context.

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
  Json to_json() const { return resolved_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint64_t total_ = 0;
  Json resolved_;
};

}  // namespace kvsim::serving
