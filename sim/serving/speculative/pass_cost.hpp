#pragma once
// One forward pass of any architecture (a draft model, a drafting head shaped as the target's
// layers, or the target verifying drafts) on one GPU of a tensor-parallel group, priced through
// the scenario's compute model, precision and engine as serving's IterationCost prices the
// target: linear layers over all the pass's rows, attention per sequence at its own KV length,
// the embedding, and the final norm, LM head and sampling over the emitting rows. Then
// closed-form time on `gpus` (stage_time.hpp: compute and one all-reduce per block under tensor
// parallelism).
//
// Verify chunks (each sequence's last token and its drafts, after its cached context) are one
// batched attention kernel, as vLLM runs them (a variable-length FlashAttention call over the
// batch): its query-key pairs the sum of each sequence's causal pairs, the KV read once per
// sequence. (Serving's prompt chunks stay one kernel each, as IterationCost prices them.)
// With eager attention, which has no batched variable-length kernel, each verify chunk is priced
// as its own prompt chunk. A target with latent attention or sliding windows verifies through its
// own decode attention with one query per verify token (MLA's absorbed kernel with k + 1 queries
// a sequence; each query's keys capped by the window), its KV read once per sequence (the keys
// the chunk's queries see); a mixture-of-experts target's experts see the expert load over all
// the pass's rows ((k + 1) x batch), split over `expert_parallel` GPUs as its decode steps are.
//
// Who calls it: the drafters (drafter.hpp) per draft pass; the replica and kvsim run's decode
// step for a verify pass. Units: seconds inside IterationCompute, Duration (ns) from pass_time.

#include <span>
#include <utility>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/serving/communication.hpp"
#include "sim/serving/iteration_cost.hpp"

namespace kvsim::serving::speculative {

using Chunk = std::pair<std::int64_t, std::int64_t>;  // (new tokens, KV length after them)

/// The compute of `shape` plus `verifies` for `model` sharded over `tensor_parallel` GPUs, a
/// mixture-of-experts model's routed experts over `expert_parallel` of them. The caller counts
/// the verify rows that sample in shape.emitting. `extra_block`: seconds of other work per layer
/// (a head's input projection), added to its first block.
IterationCompute price_pass(const Scenario& s, const LlmSpec& model,
                            std::int64_t tensor_parallel, const IterationShape& shape,
                            double extra_block = 0, std::span<const Chunk> verifies = {},
                            std::int64_t expert_parallel = 1);

/// Rows (tokens) of `shape` and `verifies` together.
std::int64_t pass_rows(const IterationShape& shape, std::span<const Chunk> verifies);

/// The pass's time on `gpus` (one GPU: no all-reduce), with `layers` of `model`'s layers, the
/// embedding when `embedding`, and the LM head and sampling.
Duration pass_time(const IterationCompute& c, int layers, bool embedding,
                   const std::vector<int>& gpus, std::int64_t rows, Communication& comm);

}  // namespace kvsim::serving::speculative
