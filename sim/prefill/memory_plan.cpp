#include "sim/prefill/memory_plan.hpp"

#include <cmath>

#include <fmt/format.h>

#include "sim/prefill/prefill_strategy.hpp"

namespace kvsim::prefill {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

double gib(double bytes) { return bytes / kGiB; }

// What would make the fullest GPU fit: the weights alone decide whether sharding is needed.
std::string remedy(const GpuMemory& g, const MemoryCapacity& capacity) {
  if (g.weights >= capacity.bytes()) {
    const auto shards = static_cast<std::int64_t>(std::ceil(g.weights / capacity.bytes()));
    return fmt::format("the weights alone do not fit: shard them with {{\"type\": \"tp\"}} over "
                       "at least {} GPUs (more to leave room for the KV cache), use "
                       "lower-precision weights or a GPU with more memory",
                       shards);
  }
  std::string out = "use fewer context tokens, more GPUs (each holds fewer tokens' "
                    "activations; tp also shards the KV cache)";
  if (g.scores > 0) {
    out += fmt::format(", fused attention (the eager score matrix alone is {:.1f} GiB)",
                       gib(g.scores));
  }
  return out + " or a GPU with more memory";
}

}  // namespace

const GpuMemory& MemoryPlan::peak() const {
  const GpuMemory* best = &gpus.front();
  for (const GpuMemory& g : gpus) {
    if (g.total() > best->total()) best = &g;
  }
  return *best;
}

GpuMemory gpu_memory(const PrefillSetup& setup, int gpu, std::int64_t query_tokens,
                     std::int64_t kv_tokens, std::int64_t tensor_parallel,
                     std::int64_t expert_parallel) {
  const LlmSpec& m = *setup.model;
  const Precision& precision = setup.options.precision;
  const auto tp = static_cast<double>(tensor_parallel);
  // KV heads are split over the tp ranks; with fewer KV heads than ranks each rank keeps one.
  const std::int64_t kv_heads = (m.kv_heads + tensor_parallel - 1) / tensor_parallel;
  // The residual stream and the normalised input (2 x hidden per token) are replicated under
  // tp; the attention and MLP halves are sharded (LlmSpec::activation_bytes_per_token).
  const double replicated = 2.0 * static_cast<double>(m.hidden_size) *
                            bytes_of(precision.activations);
  const double sharded = m.activation_bytes_per_token(precision.activations) - replicated;
  GpuMemory g;
  g.gpu = gpu;
  g.weights = m.weight_bytes_per_gpu(precision, tensor_parallel, expert_parallel);
  g.kv_cache = m.kv_bytes_for(precision.kv_cache, kv_tokens) * static_cast<double>(kv_heads) /
               static_cast<double>(m.kv_heads);
  if (setup.options.attention == AttentionImpl::kEager) {
    // One layer's q x kv score matrix for this GPU's heads, in the activation format.
    g.scores = static_cast<double>(query_tokens) * static_cast<double>(kv_tokens) *
               static_cast<double>(m.heads) / tp * bytes_of(precision.activations);
  }
  g.activations = static_cast<double>(query_tokens) * (replicated + sharded / tp) + g.scores;
  return g;
}

std::string memory_overflow(const MemoryPlan& plan, const MemoryCapacity& capacity) {
  const GpuMemory& g = plan.peak();
  if (g.total() <= capacity.bytes()) return {};
  return fmt::format(
      "needs {:.1f} GiB on GPU {} (weights {:.1f} GiB + KV cache {:.1f} GiB + activations "
      "{:.1f} GiB{}), over the {:.1f} GiB usable per GPU ({:.1f} GiB of {} x "
      "memory_utilization {}, /cluster/memory_utilization); {}",
      gib(g.total()), g.gpu, gib(g.weights), gib(g.kv_cache), gib(g.activations),
      plan.lower_bound ? ", the least any partition needs" : "", gib(capacity.bytes()),
      gib(capacity.hbm_bytes), capacity.gpu_name, capacity.utilization, remedy(g, capacity));
}

}  // namespace kvsim::prefill
