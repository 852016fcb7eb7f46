#pragma once
// decode_attention (operations.hpp) from a decode batch's totals instead of its KV lengths, for
// a caller that already walks its batch: the compiled cost (models/compiled/compiled_cost.cpp),
// which prices a decode batch's attention every serving iteration. The operations and checks are
// decode_attention's own (operations.cpp); tests/models/fast_paths_test.cpp checks they equal.
// Kept out of operations.hpp, which most of the project includes.

#include <cstdint>

#include "models/llm/operations.hpp"

namespace kvsim {

/// A decode batch's KV lengths summed as decode_attention walks them, for a model without
/// windowed attention (each length counts whole): a caller that already walks its batch (the
/// compiled cost) sums them there, exactly (integers).
struct DecodeTotals {
  std::int64_t batch = 0;  // requests
  std::int64_t kv = 0;     // their KV lengths summed
  std::int64_t most = 0;   // the largest KV length (std::max_element's)
};
/// Whether decode attention sees a window on some layers (then it needs every length).
bool decode_attention_windowed(const LlmSpec& spec, const DecomposeOptions& options);
/// decode_attention(spec, kv_lengths, options) from the lengths' totals, the same operations
/// and checks; std::logic_error if decode_attention_windowed.
AttentionOps decode_attention(const LlmSpec& spec, const DecodeTotals& totals,
                              const DecomposeOptions& options);

}  // namespace kvsim
