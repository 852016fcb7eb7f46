#pragma once
// Ring attention (context parallelism): N sequence ranks, each a TP group of tp GPUs
// (two_level.hpp), each owning a shard of the prompt (ring_sharding.hpp). Per layer every rank
// computes Q, K, V of its new tokens, then runs N ring steps:
//  - pass-kv: at step s rank r holds the K/V block of rank r - s (its own at step 0), starts
//    sending it to r + 1 (unless s = N - 1) and computes its queries' attention against it
//    (fully masked chunk pairs skipped); step s + 1 starts when both the attention and the next
//    block's arrival are done. Then the N partial outputs are merged (log-sum-exp rescaling,
//    priced as an elementwise kernel) and the rest of the layer runs.
//  - pass-q: the queries travel instead (rank r at step s computes rank r - s's queries against
//    its own K/V); after the ring an all-to-all returns each partial output (O and its
//    log-sum-exp) to the queries' owner, which merges them. Cheaper when most K/V is cached.
//  - auto: pass-q when its per-step message is the smaller one, T N_H < 2 (T + P) N_KV (T new,
//    P cached tokens, N_H query and N_KV KV heads), else pass-kv (the message-size rule of Yang
//    et al. 2024, "Context Parallelism for Scalable Million-Token Inference").
// On a network where nothing else competes and every rank has the same work per step (load-
// balanced sharding, tokens divisible by 2N), each layer takes
//   qkv + sum_{s<N-1} max(attention_s, transfer) + attention_{N-1} + merge + rest.
// The rank holding the prompt's last token computes the LM head.

#include "sim/prefill/prefill_strategy.hpp"
#include "sim/prefill/ring_sharding.hpp"

namespace kvsim::prefill {

enum class RingVariant { kPassKv, kPassQ, kAuto };

struct RingOptions {
  RingVariant variant = RingVariant::kPassKv;
  RingSharding sharding = RingSharding::kLoadBalanced;
  int tp = 1;               // GPUs per sequence rank
  double cached_share = 0;  // share of the prompt whose K/V is cached (persistent prefix)
};

/// The prompt's cached tokens under `cached_share` (rounded down).
std::int64_t ring_cached_tokens(std::int64_t context_tokens, double cached_share);
/// The variant `auto` picks (or the one given) for this model and prompt.
RingVariant ring_variant(const RingOptions& options, const LlmSpec& model,
                         std::int64_t context_tokens);
/// Attention kernels of one block on a TP shard of `setup` (the engine's attention pricing).
Duration attention_time(const PrefillSetup& setup, std::int64_t q_tokens, std::int64_t kv_tokens,
                        Mask mask);
/// Merging `partials` partial attention outputs of `q_tokens` queries into one (each merge
/// reads two outputs and their log-sum-exps and writes one), on a TP shard of `setup`.
Duration merge_time(const PrefillSetup& setup, std::int64_t q_tokens, int partials);

class RingStrategy final : public PrefillStrategy {
 public:
  explicit RingStrategy(RingOptions options) : options_(options) {}
  std::string default_label() const override;
  PrefillResult run(const PrefillSetup& setup, bool record_trace) const override;
  MemoryPlan memory_plan(const PrefillSetup& setup) const override;
  std::string unsupported(const LlmSpec& model, std::int64_t gpus) const override;
  std::int64_t tensor_parallel(std::int64_t /*gpus*/) const override { return options_.tp; }
  Json to_json() const override;
  const RingOptions& options() const { return options_; }

 private:
  RingOptions options_;
};

}  // namespace kvsim::prefill
