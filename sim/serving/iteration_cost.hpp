#pragma once
// The compute of one iteration's batch on one GPU of a replica (after tensor-parallel sharding):
// the linear layers over all its new tokens (memoised by token count), attention per sequence
// at its own KV length (no averaging away of skew), the embedding, and the LM head and sampling
// for the sequences that emit a token. Split per layer at the points where a tensor-parallel
// replica all-reduces, so the replica can put communication between the blocks. Shared by the
// serving replicas and by `kvsim compare` for batched prefill.

#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace kvsim::serving {

/// One iteration's sequences.
struct IterationShape {
  std::vector<std::pair<std::int64_t, std::int64_t>> prefills;  // (new tokens, KV after them)
  std::vector<std::int64_t> decodes;  // KV length of each decoding sequence, new token included
  std::int64_t emitting = 0;          // sequences that sample a token
  std::int64_t tokens() const;
  void clear();
};

/// Seconds on one GPU. A layer is one block (parallel attention, as Falcon: one all-reduce per
/// layer under tensor parallelism) or two (attention, then MLP: two all-reduces).
struct IterationCompute {
  std::vector<double> layer_blocks;  // per layer
  double embedding = 0;              // first pipeline stage
  double head = 0;                   // last stage: final norm, LM head, sampling
  Duration host{0};        // the engine's host time of the pass, on every stage's GPUs
  Duration layer_sync{0};  // the engine's per-layer sync under tensor parallelism
  double layer() const;
};

class IterationCost {
 public:
  /// `expert_parallel`: a MoE model's routed experts split over that many of the tp ranks.
  IterationCost(const Scenario& scenario, std::int64_t tensor_parallel,
                std::int64_t expert_parallel = 1);
  IterationCompute operator()(const IterationShape& shape);
  /// The whole model on one GPU (tensor parallel 1, one stage), without communication.
  Duration single_gpu(const IterationShape& shape);

 private:
  struct Linear {
    std::vector<double> blocks;
    double embedding = 0;
  };
  const Linear& linear(std::int64_t tokens, PassKind pass);
  double head(std::int64_t emitting, PassKind pass);
  double seconds(const Operation& op, PassKind pass) const;

  const Scenario& s_;
  DecomposeOptions options_;
  bool parallel_block_;
  std::int64_t tensor_parallel_;
  std::unordered_map<std::int64_t, Linear> linear_memo_;
  std::unordered_map<std::int64_t, double> head_memo_;
};

}  // namespace kvsim::serving
