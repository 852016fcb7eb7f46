#pragma once
// The time of one iteration's batch on one GPU: the linear layers over all its new tokens
// (memoised by token count), attention per sequence at its own KV length, the LM head for the
// sequences that emit a token, plus a fixed host overhead. Shared by the serving replicas and by
// `kvsim compare` for batched prefill.

#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace kvsim::serving {

class IterationCost {
 public:
  IterationCost(const Scenario& scenario, Duration host_overhead);
  /// prefills: (new tokens, KV tokens after them); decodes: KV length of each decoding
  /// sequence; emitting: sequences that sample a token this iteration.
  Duration operator()(const std::vector<std::pair<std::int64_t, std::int64_t>>& prefills,
                      const std::vector<std::int64_t>& decodes, std::int64_t emitting);

 private:
  double linear(std::int64_t tokens);

  const Scenario& s_;
  Duration host_;
  DecomposeOptions options_;
  std::unordered_map<std::int64_t, double> memo_;
};

}  // namespace kvsim::serving
