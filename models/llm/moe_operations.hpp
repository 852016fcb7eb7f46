#pragma once
// The MLP part of a mixture-of-experts model's layer as operations (kernels), on one GPU.
//
// Called by the decomposition (operations.cpp) in place of the dense MLP when the model has
// experts, and by strategies that place the routed experts themselves (TSP with expert
// parallelism runs them after a dispatch all-to-all, for every rank's tokens).
//
// A MoE layer on `tokens` rows: the router GEMM (hidden -> one logit per expert, replicated on
// every tensor-parallel rank) and its softmax + top-k; the shared experts as one MLP of their
// summed width, sharded like a dense MLP; the routed experts as grouped GEMMs (up, activation,
// down) for the busiest expert-parallel rank: the rank whose experts receive the most of the
// tokens x experts_per_token routed copies (expert_load.hpp), since the layer waits for it. Its
// GEMMs run over those rows and read the weights of only its experts that receive a token.
// A model with dense layers (first_dense_layers, layer_step) also gets the dense MLP; each part
// carries its share of the layers (Operation::layer_share).
//
// Units: as operations.hpp (FLOPs and bytes per call on one GPU).

#include <cstdint>
#include <vector>

#include "models/llm/expert_parallel.hpp"
#include "models/llm/operations.hpp"

namespace kvsim {

/// The busiest expert-parallel rank of a pass: routed rows it computes and its experts that
/// receive any.
struct ExpertRankLoad {
  std::int64_t rows = 0;
  std::int64_t active_experts = 0;
};

/// Rank r of `expert_parallel` holds experts [r E/ep, (r+1) E/ep) (contiguous blocks, as
/// engines place them); the rank with the most routed rows (ties: the one with more active
/// experts, then the lower rank) for `tokens` tokens under the options' shares.
ExpertRankLoad busiest_rank(const LlmSpec& spec, std::int64_t tokens,
                            const DecomposeOptions& options);
/// Every rank's load, rank 0 first.
std::vector<ExpertRankLoad> rank_loads(const LlmSpec& spec, std::int64_t tokens,
                                       const DecomposeOptions& options);

/// Appends the MLP part of a layer (dense MLP and/or MoE parts, each with its layer share).
void mixture_mlp_ops(std::vector<Operation>& out, const LlmSpec& spec, std::int64_t tokens,
                     const DecomposeOptions& options);

/// The routed experts alone (up, activation, down) for `tokens` tokens spread over
/// options.expert_parallel ranks, on rank `rank` (-1: the busiest), each op carrying the MoE
/// layers' share; empty when no token reaches the rank's experts.
std::vector<Operation> routed_expert_ops(const LlmSpec& spec, std::int64_t tokens,
                                         const DecomposeOptions& options, int rank = -1);

/// Whether an operation is one of the routed experts' kernels.
bool is_routed_expert(const Operation& op);

/// Refuses (InputError) an expert-parallel degree the model's experts or the tensor-parallel
/// degree do not allow: it must divide the experts, and divide tensor_parallel unless that is 1.
void check_expert_parallel(const LlmSpec& spec, std::int64_t expert_parallel,
                           std::int64_t tensor_parallel);

/// Reads `key` of a decode or serving layout of `tensor_parallel` GPUs per stage (true: every
/// rank; a count: that many ranks, each expert sharded over tensor_parallel / count GPUs) and
/// refuses, at the key, a degree check_expert_parallel refuses or one that does not divide
/// tensor_parallel (experts across data-parallel replicas are not modelled).
ExpertParallel read_layout_expert_parallel(const ConfigNode& node, const std::string& key,
                                           const LlmSpec& spec, std::int64_t tensor_parallel);

}  // namespace kvsim
