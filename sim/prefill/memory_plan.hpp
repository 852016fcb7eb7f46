#pragma once
// Per-GPU memory of one prefill, and the one check of it against the usable HBM.
//
// Every prefill strategy says what each of its GPUs holds at the peak of a prompt's prefill
// (PrefillStrategy::memory_plan): its share of the weights, the KV cache it holds when prefill
// ends, and its peak live activations (one layer's per-token activations for the tokens it
// computes, plus, under eager attention, the materialised q x kv x heads score matrix). The
// scenario loader compares each GPU's sum with HBM x utilisation (memory_overflow) so that
// run, search, validate and sweep refuse the same scenarios. All sizes are bytes.

#include <cstdint>
#include <string>
#include <vector>

namespace kvsim::prefill {

struct PrefillSetup;

struct GpuMemory {
  int gpu = 0;             // GPU index in the topology
  double weights = 0;      // bytes of weights this GPU holds
  double kv_cache = 0;     // bytes of K and V it holds when prefill ends
  double activations = 0;  // peak live activation bytes, eager score matrix included
  double scores = 0;       // of which the eager attention score matrix
  double total() const { return weights + kv_cache + activations; }
};

struct MemoryPlan {
  std::vector<GpuMemory> gpus;  // one per GPU of the chain, in chain order
  /// True when the split of the tokens is only known after a run (a searched or predicted
  /// KV-Runahead partition): the plan is then the least any split needs, and the run's own
  /// partition is checked again after it.
  bool lower_bound = false;
  /// The GPU holding the most bytes (the first such).
  const GpuMemory& peak() const;
};

/// What one GPU holds when it computes `query_tokens` queries against `kv_tokens` keys, keeps
/// the K and V of `kv_tokens` tokens, and shares each layer's weights and attention heads
/// with `tensor_parallel` GPUs (Megatron: weights, KV heads, attention and MLP activations
/// sharded; the residual stream and its norm replicated), a MoE model's routed experts split
/// over `expert_parallel` GPUs (LlmSpec::weight_bytes_per_gpu).
GpuMemory gpu_memory(const PrefillSetup& setup, int gpu, std::int64_t query_tokens,
                     std::int64_t kv_tokens, std::int64_t tensor_parallel = 1,
                     std::int64_t expert_parallel = 1);

/// The usable bytes of each GPU.
struct MemoryCapacity {
  std::string gpu_name;
  double hbm_bytes = 0;
  double utilization = 0.9;  // share of HBM prefill may use (vLLM's gpu_memory_utilization)
  double bytes() const { return hbm_bytes * utilization; }
};

/// Why `plan` does not fit `capacity` (the fullest GPU, each component in GiB, the capacity,
/// and what would fit); empty when every GPU fits.
std::string memory_overflow(const MemoryPlan& plan, const MemoryCapacity& capacity);

}  // namespace kvsim::prefill
