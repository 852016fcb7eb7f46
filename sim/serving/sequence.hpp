#pragma once
// A request's life inside a replica: its prompt (re)computed in chunks, tokens sampled, KV
// memory held, and the times that become its metrics.

#include <cstdint>

#include "sim/core/time.hpp"
#include "sim/serving/workload.hpp"

namespace kvsim::serving {

struct Sequence {
  Request request;
  std::int64_t prefilled = 0;   // tokens of the (re)computed prompt done
  std::int64_t to_prefill = 0;  // the prompt, or prompt + generated after a recompute preemption
  std::int64_t generated = 0;   // output tokens sampled
  std::int64_t cached = 0;      // tokens whose K and V are in GPU memory
  std::int64_t held = 0;        // KV tokens of GPU memory held (blocks, or the reservation)
  std::int64_t swapped = 0;     // tokens whose K and V wait in host memory (swap preemption)
  SimTime scheduled{-1};
  SimTime first_token{-1};
  SimTime last_token{-1};
  int preemptions = 0;
  std::uint64_t last_batch = 0;  // the replica's count of the last batch it was in
  bool in_flight = false;  // in the batch being planned or one still in the pipeline

  bool prompt_done() const { return prefilled >= to_prefill; }
  bool finished() const { return prompt_done() && generated >= request.output; }
};

}  // namespace kvsim::serving
