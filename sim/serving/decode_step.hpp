#pragma once
// One decode iteration of a serving replica of tensor_parallel x pipeline_parallel GPUs, priced
// exactly as kvsim serve prices it with closed-form communication: the IterationCost of the
// batch on one GPU of each stage, each stage's all-reduces (stage_time.hpp), and the sends
// between stages. For requests that run alone, that is serve's time per output token.
//
// Who calls it: `kvsim run` for the scenario's "decode" section (tools/kvsim/cmd_run.cpp).
// It holds no state; serve's per-iteration extras (host_overhead, swap copies, an engine's
// host time added at launch) are not in it, since run's "decode" section has none of them.
// The replica is replica 0 of the topology: stage s, rank t is GPU s x tp + t.
// Units: Duration (integer ns).

#include <cstdint>
#include <optional>
#include <span>

#include "sim/scenario/scenario.hpp"
#include "sim/serving/dp_attention.hpp"

namespace kvsim::serving {

struct DecodeStep {
  Duration total{0};          // the step: every stage in turn, with the sends between them
  Duration compute{0};        // the stages' compute (one GPU of each stage), summed
  Duration communication{0};  // all-reduces and sends, summed
  int all_reduces = 0;        // per step, over all stages
  int sends = 0;              // stage-to-stage sends per step (pipeline_parallel - 1)
  int all_to_alls = 0;        // data-parallel attention: dispatch and combine per layer
  std::optional<DpAttentionStep> data_parallel;  // its breakdown, when the layout has it
};

/// One decode step of requests at `kv_lengths` (each the KV length with the token being
/// generated included, as serve's iteration sees it; each request emits one token) on a replica
/// of `tensor_parallel` x `pipeline_parallel` GPUs of the scenario's topology. The caller has
/// checked the layout against the model and topology (read_decode or serve's setup do).
/// `expert_parallel`: a MoE model's routed experts split over that many of the tp ranks.
DecodeStep decode_step(const Scenario& scenario, int tensor_parallel, int pipeline_parallel,
                       std::span<const std::int64_t> kv_lengths, int expert_parallel = 1);

/// The "decode" section's step on its layout at `kv_lengths`: decode_step, or with
/// "data_parallel_attention" dp_attention_step over its tensor_parallel ranks.
DecodeStep decode_section_step(const Scenario& scenario, std::span<const std::int64_t> kv_lengths);

}  // namespace kvsim::serving
