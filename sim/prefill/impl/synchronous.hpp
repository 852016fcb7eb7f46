#pragma once
// Strategies whose GPUs meet in a collective every layer: the KV-Runahead paper's TSP baseline
// and Megatron tensor parallelism. Both are "all ranks run a block, then a collective".

#include "models/llm/expert_parallel.hpp"
#include "sim/prefill/prefill_strategy.hpp"

namespace kvsim::prefill {

/// TSP (tensor/sequence parallelisation as the KV-Runahead paper uses it): the context split
/// evenly, weights replicated; per layer local QKV, an all-gather of K and V over all GPUs (a
/// synchronising collective), attention of the local C/p queries against all C keys (the dense
/// rectangle, or only the unmasked part when causal_aware), then the rest of the layer.
///   TTFT (uniform, no contention) = emb + layers x (qkv(C/p) + allgather + attn + rest) + head
/// With tp > 1 (two_level.hpp) the context is split over p / tp sequence ranks, each a TP group:
/// kernels are the TP shard's, each shard all-gathers its heads' K and V with the same shard of
/// the other ranks, and the TP all-reduces are part of `rest`.
/// With expert_parallel (a MoE model, tp 1) of degree e (true: e = p), the GPUs form p / e
/// expert-parallel groups of e consecutive GPUs, each holding every routed expert once, 1/e of
/// them per GPU (attention is data-parallel over all p ranks): after the router, a dispatch
/// all-to-all inside each group sends each token's k copies to their experts' GPUs, each GPU
/// runs its experts over its group's tokens routed to them, and a combine all-to-all brings the
/// results back (buffer: C/p tokens x k x hidden per rank, both ways). Expert parallelism under
/// a two-level layout (tp > 1) is refused (unsupported()).
class TspStrategy final : public PrefillStrategy {
 public:
  TspStrategy(bool causal_aware, int tp, ExpertParallel expert_parallel)
      : causal_aware_(causal_aware), tp_(tp), expert_parallel_(expert_parallel) {}
  explicit TspStrategy(bool causal_aware) : TspStrategy(causal_aware, 1, false) {}
  std::string default_label() const override;
  PrefillResult run(const PrefillSetup& setup, bool record_trace) const override;
  MemoryPlan memory_plan(const PrefillSetup& setup) const override;
  std::string unsupported(const LlmSpec& model, std::int64_t gpus) const override;
  std::int64_t tensor_parallel(std::int64_t /*gpus*/) const override { return tp_; }
  std::int64_t expert_parallel(std::int64_t gpus) const override {
    return expert_parallel_.over(gpus);
  }
  Json to_json() const override;

 private:
  bool causal_aware_;
  int tp_;
  ExpertParallel expert_parallel_;
};

/// Megatron-LM tensor parallelism (Shoeybi et al. 2019): weights sharded over p GPUs, every
/// GPU sees all C tokens; an all-reduce after attention and after the MLP (one per layer for
/// parallel attention+MLP blocks), or reduce-scatter + all-gather with sequence parallelism
/// (Korthikanti et al. 2022). With expert_parallel (a MoE model) of degree e (true: e = p), the
/// routed experts are split over e expert-parallel ranks, each expert sharded over the p / e
/// GPUs of its rank (expert-TP; whole at e = p), instead of 1/p of every expert: every GPU has
/// all tokens after the attention's all-reduce, so no dispatch is needed; it runs its shard of
/// its experts over the tokens routed to them (the busiest rank sets the pace), and the MLP's
/// all-reduce combines the outputs. Each GPU holds 1/p of the routed weights either way.
class TpStrategy final : public PrefillStrategy {
 public:
  explicit TpStrategy(bool sequence_parallel, ExpertParallel expert_parallel = {})
      : sequence_parallel_(sequence_parallel), expert_parallel_(expert_parallel) {}
  std::string default_label() const override;
  PrefillResult run(const PrefillSetup& setup, bool record_trace) const override;
  std::string unsupported(const LlmSpec& model, std::int64_t gpus) const override;
  MemoryPlan memory_plan(const PrefillSetup& setup) const override;
  std::int64_t tensor_parallel(std::int64_t gpus) const override { return gpus; }
  std::int64_t expert_parallel(std::int64_t gpus) const override {
    return expert_parallel_.over(gpus);
  }
  Json to_json() const override;

 private:
  bool sequence_parallel_;
  ExpertParallel expert_parallel_;
};

/// One GPU, all layers (KV-Runahead's chain of one).
class SingleStrategy final : public PrefillStrategy {
 public:
  std::string default_label() const override { return "single"; }
  PrefillResult run(const PrefillSetup& setup, bool record_trace) const override;
  MemoryPlan memory_plan(const PrefillSetup& setup) const override;
  Json to_json() const override { return Json{{"type", "single"}}; }
};

}  // namespace kvsim::prefill

namespace kvsim::prefill {

/// The paper's ideal (Section 4): the single-GPU linear work split perfectly over p GPUs, plus
/// the attention-only lower bound a x (C^2/2)(1/p + 1/p^2), where a is the cost of one
/// query-key pair of a dense C x C block on one GPU (from sum c_i S_i = (C^2 + sum c_i^2)/2 and
/// sum c_i^2 >= C^2/p), plus embedding and LM head once; no communication. A bound for
/// strategies that compute each process's whole c_i x S_i rectangle (eager attention).
class IdealStrategy final : public PrefillStrategy {
 public:
  std::string default_label() const override { return "ideal"; }
  PrefillResult run(const PrefillSetup& setup, bool record_trace) const override;
  /// As TSP's: whole weights, an even share of the queries against every key.
  MemoryPlan memory_plan(const PrefillSetup& setup) const override;
  Json to_json() const override { return Json{{"type", "ideal"}}; }
};

}  // namespace kvsim::prefill
