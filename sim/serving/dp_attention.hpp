#pragma once
// Data-parallel attention with expert-parallel MoE layers (SGLang's --enable-dp-attention with
// EP MoE; DeepSeek-V3's decode layout, arXiv:2412.19437 section 3.4): a replica of d GPUs is d
// attention ranks. Each rank holds every weight but the routed experts (attention at tensor
// parallel 1, so its KV keeps every head), runs attention for its own share of the batch over
// its own KV, and routes its own tokens; the routed experts are split over the d ranks (EP d),
// each computing the tokens routed to its experts from every rank, between a dispatch and a
// combine all-to-all.
//
// How requests are split: in kvsim serve each request joins the rank with the fewest
// unfinished requests (ties: the lowest rank), as SGLang's shortest-queue load balancing, and
// keeps its KV there; each rank has its own scheduler and KV memory (a whole GPU's budget), and
// the ranks' batches run as one iteration. kvsim run's decode step splits its batch
// round-robin by sequence (sequence i to rank i mod d), which is where equal requests arriving
// at once land. Each synchronised segment of an iteration waits for its busiest rank: the
// attention part of each layer (everything but the routed experts), the routed experts of the
// busiest EP rank over all d ranks' tokens (models/llm moe_operations.hpp), and the dispatch
// and combine all-to-alls, each sized by the rank that sends the most.
//
// Who calls it: decode_section_step (kvsim run's "decode" with "data_parallel_attention") and
// serving replicas with "data_parallel_attention" (replica.cpp), one DpAttentionCost per run.
// Not modelled (refused by the scenario and serving readers): dense models, pipeline stages,
// an expert-parallel degree below d, speculative decoding, flows communication.
// Units: Duration (integer ns); seconds (double) per layer; bytes per rank per all-to-all.

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/serving/iteration_cost.hpp"

namespace kvsim::serving {

struct DpAttentionStep {
  Duration total{0};          // the step
  Duration compute{0};        // attention ranks' and experts' compute on the critical path
  Duration communication{0};  // the all-to-alls
  int all_to_alls = 0;        // per step: a dispatch and a combine per layer
  double all_to_all_bytes = 0;       // each all-to-all's buffer: the busiest sender's
  Duration all_to_all_time{0};       // one all-to-all, closed form
  std::int64_t busiest_sequences = 0;  // sequences of the rank with the most
  double attention_seconds = 0;  // busiest rank, one layer: everything but the routed experts
  double experts_seconds = 0;    // busiest EP rank, one layer: the routed experts
  double kv_bytes_per_gpu = 0;   // the most KV a rank holds: its sequences, every head
  double weight_bytes_per_gpu = 0;
};

/// The batch's KV lengths split over `ranks` round-robin in batch order: element r holds the
/// lengths of sequences r, r + ranks, r + 2 ranks, ...
std::vector<std::vector<std::int64_t>> split_round_robin(std::span<const std::int64_t> kv_lengths,
                                                         int ranks);

/// The cost of iterations on replicas of `ranks` data-parallel attention ranks: each rank's
/// part from a compiled cost without the routed experts (attention at tensor parallel 1), the
/// routed experts at EP `ranks`, the all-to-alls in closed form among the replica's GPUs. The
/// scenario must outlive it; not thread-safe (tables fill lazily).
class DpAttentionCost {
 public:
  DpAttentionCost(const Scenario& scenario, int ranks);
  /// One iteration of every rank's batch (an empty shape: an idle rank) on `gpus`, rank r on
  /// gpus[r].
  DpAttentionStep operator()(std::span<const IterationShape> ranks, const std::vector<int>& gpus);

 private:
  double rank_layer(const IterationShape& shape, PassKind pass, double& embedding,
                    double& head);
  double experts(std::int64_t tokens, PassKind pass);
  double kv_bytes(const IterationShape& shape) const;
  Duration all_to_all(const std::vector<int>& gpus, double bytes);

  const Scenario& s_;
  DecomposeOptions options_;
  CompiledCost ranks_;  // one rank's layer without the routed experts
  std::unordered_map<std::int64_t, double> experts_[2];  // seconds by tokens, per pass kind
  std::unordered_map<int, std::unordered_map<double, Duration>> all_to_all_;  // by first GPU
};

/// One decode step of requests at `kv_lengths` (the new token included) on the first `ranks`
/// GPUs of the topology, split round-robin (the scenario reader has checked the layout).
DpAttentionStep dp_attention_step(const Scenario& scenario, int ranks,
                                  std::span<const std::int64_t> kv_lengths);

}  // namespace kvsim::serving
