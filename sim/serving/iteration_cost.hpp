#pragma once
// The compute of one iteration's batch on one GPU of a replica (after tensor-parallel sharding):
// the linear layers over all its new tokens, attention per sequence at its own KV length (no
// averaging away of skew), the embedding, and the LM head and sampling for the sequences that
// emit a token. Split per layer at the points where a tensor-parallel replica all-reduces, so the
// replica can put communication between the blocks. Shared by the serving replicas and by
// `kvsim compare` for batched prefill.
//
// Priced from the compiled cost (models/compiled/compiled_cost.hpp), built once when the
// IterationCost is constructed: an iteration is arithmetic over its shape, with no decomposition
// of the model, no JSON and no allocation once the tables hold its counts.
// reference_iteration_cost keeps the decomposition-based pricing that the compiled cost must equal
// bit for bit (tests and benchmarks only).

#include <utility>
#include <vector>

#include "models/compiled/compiled_cost.hpp"
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
  LayerBlocks layer_blocks;  // per layer
  double embedding = 0;      // first pipeline stage
  double head = 0;           // last stage: final norm, LM head, sampling
  Duration host{0};        // the engine's host time of the pass, on every stage's GPUs
  Duration layer_sync{0};  // the engine's per-layer sync under tensor parallelism
  double layer() const;
};

class IterationCost {
 public:
  /// The scenario (its model, compute model and engine) must outlive this. `expert_parallel`:
  /// a MoE model's routed experts split over that many of the tp ranks.
  IterationCost(const Scenario& scenario, std::int64_t tensor_parallel,
                std::int64_t expert_parallel = 1);
  IterationCompute operator()(const IterationShape& shape);
  /// The whole model on one GPU (tensor parallel 1, one stage), without communication.
  Duration single_gpu(const IterationShape& shape);

 private:
  const Scenario& s_;
  std::int64_t tensor_parallel_;
  CompiledCost compiled_;
};

/// The same iteration priced by decomposing the model's layer for it and pricing every operation
/// (what IterationCost did before the compiled cost): the reference the compiled cost is checked
/// against, bit for bit. Slow; for tests and benchmarks.
IterationCompute reference_iteration_cost(const Scenario& scenario, std::int64_t tensor_parallel,
                                          const IterationShape& shape,
                                          std::int64_t expert_parallel = 1);

}  // namespace kvsim::serving
