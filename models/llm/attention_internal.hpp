#pragma once
// Internal to models/llm: the tensor-parallel shard of a layer's widths and the attention layer
// kinds (full, windowed) that the decomposition (operations.cpp) and the attention operations
// (attention.cpp) share. Nothing outside models/llm includes it; the public interface is
// operations.hpp (prefill_attention, decode_attention, prefill_layer, decode_layer).
// Units: widths in elements (heads, features); shares are fractions of the model's layers.

#include <array>
#include <cstddef>
#include <cstdint>

#include "models/llm/llm_spec.hpp"
#include "models/llm/operations.hpp"

namespace kvsim::llm_internal {

// Per-GPU widths after tensor-parallel sharding (Megatron-LM: heads and MLP columns split;
// KV heads replicated when there are fewer than GPUs).
struct Shard {
  std::int64_t heads;
  std::int64_t kv_heads;
  std::int64_t intermediate;
  std::int64_t vocab;
};

/// The widths of one GPU of `tp`; InputError when tp does not divide the attention heads.
Shard shard(const LlmSpec& s, std::int64_t tp);

// One kind of attention layer: its window (0: full) and its share of the model's layers.
struct LayerKind {
  std::int64_t window;
  double share;
};

// At most two kinds, held without allocating (the compiled cost prices attention per call).
struct LayerKinds {
  std::array<LayerKind, 2> kinds{};
  std::size_t count = 0;
  const LayerKind* begin() const { return kinds.data(); }
  const LayerKind* end() const { return kinds.data() + count; }
};

// Full attention; or every layer windowed (Mistral); or both kinds (Gemma-2/3). Eager attention
// computes the whole q x kv rectangle and masks it, window or not: one kind.
LayerKinds layer_kinds(const LlmSpec& s, const DecomposeOptions& o);

}  // namespace kvsim::llm_internal
