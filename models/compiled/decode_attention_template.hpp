#pragma once
// A decode batch's attention operation built from a template fixed at construction, for a model
// whose decode attention is one fused kernel over full attention (not latent, not windowed, not
// eager): what the compiled cost (compiled_cost.hpp) prices every serving iteration.
//
// decode_attention(spec, totals, options) (models/llm/decode_totals.hpp) builds the operation
// from scratch each call (layer kinds, the tensor-parallel shard, six zeroed operations). Only
// seven fields depend on the batch's totals: the attention shape's batch, queries, keys, pairs
// and longest request, and the FLOPs and bytes. at() patches those with attention_ops' own
// arithmetic (models/llm/operations.cpp: the same products in the same order) and keeps the
// same checks. make() refuses (nullopt) a model it does not cover, and any model for which the
// patched operation differs from decode_attention's at probe batches in any field (a change to
// attention_ops would then slow the compiled cost down, never make it wrong);
// tests/models/fast_paths_test.cpp checks that the shipped models take this path and that it
// equals decode_attention on random batches.
//
// Units: FLOPs and bytes per call on one GPU, as operations.hpp.

#include <optional>

#include "models/llm/decode_totals.hpp"

namespace kvsim {

class DecodeAttentionTemplate {
 public:
  /// The template for (spec, options), or nullopt where decode attention is not one fused
  /// kernel of full attention or the patch would differ from decode_attention.
  static std::optional<DecodeAttentionTemplate> make(const LlmSpec& spec,
                                                     const DecomposeOptions& options);
  /// decode_attention(spec, totals, options)'s one operation, with its checks (the batch at
  /// least 1 and within the model's limits, the longest request within its token limit). The
  /// reference stays valid until the next call.
  const Operation& at(const DecodeTotals& totals);

 private:
  DecodeAttentionTemplate(const LlmSpec& spec, const Operation& op, const Precision& precision);

  const LlmSpec* spec_;
  Operation op_;
  double query_width_;     // heads x head_dim of the shard
  double kv_width_;        // KV heads x head_dim of the shard
  double activation_bytes_;
  double kv_cache_bytes_;
  double flops_per_pair_;  // 4 x heads x head_dim, in attention_ops' order
};

}  // namespace kvsim
