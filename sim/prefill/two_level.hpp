#pragma once
// Two-level prefill layouts: every sequence rank is a tensor-parallel group.
//
// A strategy with "tp": t > 1 (tsp, kvr, ring) splits its p GPUs into p / t sequence ranks of t
// consecutive GPUs (rank r: gpus[r t .. r t + t - 1]; on a multi-node cluster with t = GPUs per
// node that is TP inside a node over NVLink and the sequence split across nodes over NICs).
// Inside a rank the weights and heads are sharded t ways (Megatron); between ranks the K/V (or Q)
// a strategy moves is split by head too, so lane k (the k-th GPU of every rank) carries 1/t of
// each message on its own route (rail-aligned). The strategies' event runs treat a rank as one
// process whose kernels are the TP shard's; its per-layer TP all-reduces are priced here in
// closed form, alone on the network (over NVLink inside a node they share no link with the NIC
// traffic; where they do share links, e.g. TP2 x CP4 in one node, contention between the two is
// not modelled). With t = 1 everything here is the identity.

#include <string>
#include <vector>

#include "sim/prefill/stage_costs.hpp"

namespace kvsim::prefill {

/// Why `gpus` GPUs cannot form sequence ranks of `tp` GPUs for `model`; empty when they can.
std::string two_level_obstacle(const LlmSpec& model, std::int64_t gpus, std::int64_t tp,
                               const std::string& strategy);

/// Sequence ranks of the setup's GPUs under tp.
int sequence_ranks(const PrefillSetup& setup, int tp);
/// The GPUs of sequence rank r (t consecutive entries of setup.gpus).
std::vector<int> rank_gpus(const PrefillSetup& setup, int tp, int rank);
/// Lane k: the k-th GPU of every rank, in rank order (who exchanges 1/t of each message).
std::vector<int> lane_gpus(const PrefillSetup& setup, int tp, int lane);

/// The setup a rank's kernels are priced with: heads and weights sharded tp ways.
PrefillSetup rank_setup(const PrefillSetup& setup, int tp);

/// The per-layer TP cost of rank r computing `tokens` tokens: the engine's rank
/// synchronisation plus the all-reduce after attention and after the MLP (one for a parallel
/// attention+MLP block), each of tokens x hidden activations, closed form (or the engine's
/// custom all-reduce). Zero when tp == 1.
Duration tp_layer_collectives(const PrefillSetup& setup, int tp, int rank, std::int64_t tokens);

/// Stage costs of rank r (its TP shard), with tp_layer_collectives added to `rest`. Equals
/// stage_costs(setup, ...) when tp == 1.
StageCosts rank_stage_costs(const PrefillSetup& setup, int tp, int rank, std::int64_t q_tokens,
                            std::int64_t kv_tokens, Mask mask);

/// Replicates each rank's GPU times to its tp GPUs, so results have one entry per GPU.
void expand_rank_times(PrefillResult& result, int tp);

/// Memory of every GPU of rank r: `query_tokens` queries, `kv_tokens` keys held, tp shard.
void add_rank_memory(MemoryPlan& plan, const PrefillSetup& setup, int tp, int rank,
                     std::int64_t query_tokens, std::int64_t kv_tokens, double extra_bytes = 0);

/// Reads an optional "tp" (GPUs per sequence rank, default 1) of a strategy's config.
int read_tp(const ConfigNode& node);

}  // namespace kvsim::prefill
