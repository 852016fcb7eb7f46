#pragma once
// Upper bounds on the counts that size work (layers, widths, heads, vocabulary, tokens, batch).
//
// Cost models multiply these counts in 64-bit integers (parameters, query-key pairs, summed KV
// lengths); inside these bounds no product overflows, so a FLOP or byte count can never come out
// negative. Readers of user input (the catalog, Hugging Face configs, the calibration importers,
// the operation decomposition) refuse anything larger with a message naming the limit. Each bound
// is far above any real model or deployment (Llama-3.1-405B: 126 layers, hidden 16,384, 128 heads,
// vocabulary 128,256, 131,072 tokens of context).
//
// Worst cases inside the bounds: a layer's weights are at most ~4 x 2^20 x 2^20 = 2^42 elements,
// times 2^12 layers is 2^54; a vocabulary-wide embedding 2^24 x 2^20 = 2^44; query-key pairs of
// a chunk 2^30 x 2^30 = 2^60; a decode batch's summed KV length 2^20 x 2^30 = 2^50.

#include <cstdint>

namespace kvsim::limits {

inline constexpr std::int64_t kLayers = std::int64_t{1} << 12;  // 4,096 layers
inline constexpr std::int64_t kWidth = std::int64_t{1} << 20;   // 1,048,576: hidden,
                                                                // intermediate, heads x head_dim
inline constexpr std::int64_t kHeads = std::int64_t{1} << 16;   // 65,536 attention heads
inline constexpr std::int64_t kVocab = std::int64_t{1} << 24;   // 16,777,216 vocabulary entries
inline constexpr std::int64_t kTokens = std::int64_t{1} << 30;  // 1,073,741,824 tokens in one
                                                                // sequence or chunk
inline constexpr std::int64_t kBatch = std::int64_t{1} << 20;   // 1,048,576 requests in a step
// Mixture of experts: routed experts per layer, and their widths summed (experts x expert width,
// DeepSeek-V3: 256 x 2,048 = 2^19), which keeps a MoE layer's weights below 3 x 2^20 x 2^24.
inline constexpr std::int64_t kExperts = std::int64_t{1} << 12;      // 4,096 experts
inline constexpr std::int64_t kExpertWidth = std::int64_t{1} << 24;  // experts x their width
inline constexpr std::int64_t kTensorParallel = std::int64_t{1} << 16;  // GPUs sharing a layer

}  // namespace kvsim::limits
