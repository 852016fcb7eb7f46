#pragma once
// One pipeline stage's share of one iteration of a serving replica, priced in closed form: the
// stage's compute on one GPU and its tensor-parallel all-reduces. The replica prices each stage
// of a batch with stage_time (closed-form communication), and decode_step (kvsim run's
// "decode" section) sums the same stage_time over a replica's stages, so the two cannot drift.
//
// Units: Duration (integer ns); compute is rounded to the nanosecond once per stage.

#include "sim/core/time.hpp"
#include "sim/serving/communication.hpp"
#include "sim/serving/iteration_cost.hpp"

namespace kvsim::serving {

/// The layers a pipeline stage runs, and whether it holds the model's ends.
struct StageSpan {
  int layers = 0;
  bool first = true;  // runs the embedding
  bool last = true;   // runs the final norm, LM head and sampling
};

/// The layers of stage `stage` of `pipeline_parallel`: an even split, the first stages taking
/// one more while `layers` does not divide.
int stage_layers(std::int64_t layers, int pipeline_parallel, int stage);

/// The stage's compute on one GPU: layers x the per-layer blocks, the embedding on the first
/// stage, the LM head and sampling on the last.
Duration stage_compute(const IterationCompute& c, const StageSpan& span);

/// All-reduces of the stage per iteration: one per block of each layer under tensor
/// parallelism (two per layer, or one for parallel-attention models); none at tensor_parallel 1.
int stage_all_reduces(const IterationCompute& c, const StageSpan& span, int tensor_parallel);

/// Closed form: the stage's compute, then each all-reduce of the iteration's `tokens` hidden
/// states among `gpus` (the stage's tensor-parallel ranks) in turn.
Duration stage_time(const IterationCompute& c, const StageSpan& span, const std::vector<int>& gpus,
                    std::int64_t tokens, Communication& communication);

}  // namespace kvsim::serving
