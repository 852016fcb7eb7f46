#include "models/llm/operations.hpp"

#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"

namespace kvsim {
namespace {

const Operation& find(const std::vector<Operation>& ops, OpKind kind) {
  for (const auto& op : ops) {
    if (op.kind == kind) return op;
  }
  throw std::runtime_error("op not found: " + to_string(kind));
}

}  // namespace

TEST(Operations, CausalPairs) {
  // 9 tokens in one process: 9 x 10 / 2 = 45 pairs; the paper's split 4/3/2: process 3 has
  // q = 2 over kv = 9: 2 x 7 + 3 = 17 pairs.
  EXPECT_EQ(causal_pairs(9, 9), 45);
  EXPECT_EQ(causal_pairs(2, 9), 17);
  EXPECT_EQ(causal_pairs(1, 100), 100);  // one decode query sees all 100 keys
}

TEST(Operations, Llama2_7bPrefillLayerFlopsAndBytes) {
  const LlmSpec s = catalog::llm("llama-2-7b");
  const auto ops = prefill_layer(s, PrefillChunk{2048, 2048, Mask::kCausal}, DecomposeOptions{});
  const Operation& qkv = find(ops, OpKind::kQkvProj);
  // 2 x 2048 tokens x 12288 outputs (3 x 4096) x 4096 inputs = 206,158,430,208 FLOPs.
  EXPECT_DOUBLE_EQ(qkv.flops, 206158430208.0);
  // Weights 12288 x 4096 x 2 B = 100,663,296; input 2048 x 4096 x 2 = 16,777,216;
  // output 2048 x 12288 x 2 = 50,331,648.
  EXPECT_DOUBLE_EQ(qkv.weight_bytes, 100663296.0);
  EXPECT_DOUBLE_EQ(qkv.bytes_read, 100663296.0 + 16777216.0);
  EXPECT_DOUBLE_EQ(qkv.bytes_written, 50331648.0);
  const Operation& attn = find(ops, OpKind::kAttention);
  // 4 x 32 heads x 128 x (2048 x 2049 / 2 = 2,098,176 pairs) = 34,376,515,584 FLOPs.
  EXPECT_DOUBLE_EQ(attn.flops, 34376515584.0);
  const Operation& up = find(ops, OpKind::kMlpUp);
  EXPECT_EQ(up.gemm.n, 2 * 11008);  // gate and up fused
  EXPECT_EQ(ops.size(), 11u);       // norm, qkv, rotary, attn, o, add, norm, up, act, down, add
}

TEST(Operations, EagerAttentionComputesTheDenseRectangleAndWritesScores) {
  const LlmSpec s = catalog::llm("llama-2-7b");
  DecomposeOptions o;
  o.attention = AttentionImpl::kEager;
  const auto ops = prefill_layer(s, PrefillChunk{1024, 1024, Mask::kCausal}, o);
  const Operation& scores = find(ops, OpKind::kAttnScores);
  // 2 x 32 heads x 1024 x 1024 x 128 = 8,589,934,592: the masked half is computed too.
  EXPECT_DOUBLE_EQ(scores.flops, 8589934592.0);
  // Scores written in fp16: 32 x 1024 x 1024 x 2 B = 67,108,864.
  EXPECT_DOUBLE_EQ(scores.bytes_written, 67108864.0);
  const Operation& softmax = find(ops, OpKind::kAttnSoftmax);
  // fp32 probabilities plus the fp16 copy: 32 x 1024^2 x (4 + 2) = 201,326,592 B written.
  EXPECT_DOUBLE_EQ(softmax.bytes_written, 201326592.0);
}

TEST(Operations, DenseMaskForTspRectangle) {
  const LlmSpec s = catalog::llm("llama-2-7b");
  const auto ops = prefill_layer(s, PrefillChunk{512, 2048, Mask::kDense}, DecomposeOptions{});
  // 4 x 32 x 128 x (512 x 2048) = 17,179,869,184.
  EXPECT_DOUBLE_EQ(find(ops, OpKind::kAttention).flops, 17179869184.0);
}

TEST(Operations, DecodeAttentionReadsEachRequestsOwnKv) {
  const LlmSpec s = catalog::llm("llama-2-7b");
  const std::vector<std::int64_t> lengths{100, 300};
  const auto ops = decode_layer(s, lengths, DecomposeOptions{});
  const Operation& attn = find(ops, OpKind::kAttention);
  // K and V of 400 tokens: 2 x 400 x 32 x 128 x 2 B = 6,553,600; Q and O: 2 x 2 x 4096 x 2.
  EXPECT_DOUBLE_EQ(attn.bytes_read, 6553600.0 + 2 * 4096 * 2.0);
  EXPECT_DOUBLE_EQ(attn.flops, 4.0 * 32 * 128 * 400);
  EXPECT_EQ(find(ops, OpKind::kQkvProj).gemm.m, 2);
}

TEST(Operations, TensorParallelShardsHeadsAndMlp) {
  const LlmSpec s = catalog::llm("llama-3-70b");  // 64 heads, 8 KV heads
  DecomposeOptions o;
  o.tensor_parallel = 8;
  const auto ops = prefill_layer(s, PrefillChunk{128, 128, Mask::kCausal}, o);
  EXPECT_EQ(find(ops, OpKind::kQkvProj).gemm.n, (8 + 2 * 1) * 128);
  EXPECT_EQ(find(ops, OpKind::kMlpDown).gemm.k, 28672 / 8);
  o.tensor_parallel = 3;  // bad input (exit 2), not an internal error
  EXPECT_THROW(prefill_layer(s, PrefillChunk{1, 1, Mask::kCausal}, o), InputError);
}

TEST(Operations, FalconParallelBlockHasOneNormAndOneAdd) {
  const auto ops = prefill_layer(catalog::llm("falcon-7b"), PrefillChunk{64, 64, Mask::kCausal},
                                 DecomposeOptions{});
  int adds = 0;
  for (const auto& op : ops) {
    EXPECT_NE(op.kind, OpKind::kPostAttnNorm);
    adds += op.kind == OpKind::kResidualAdd;
  }
  EXPECT_EQ(adds, 1);
}

}  // namespace kvsim

namespace kvsim {

TEST(Operations, TokenCountsBeyondTheLimitAreInputErrorsNotNegativeFlops) {
  const LlmSpec s = catalog::llm("llama-2-7b");
  // 2^33 tokens: q (q + 1) / 2 used to overflow int64 into negative FLOPs.
  const std::int64_t huge = std::int64_t{1} << 33;
  EXPECT_THROW(prefill_layer(s, PrefillChunk{huge, huge}, {}), InputError);
  EXPECT_THROW(model_ends(s, huge, 1, {}), InputError);
  const std::vector<std::int64_t> long_request{huge};
  EXPECT_THROW(decode_layer(s, long_request, {}), InputError);
  // At the limit, 2^30 tokens: pairs 2^30 (2^30 + 1) / 2 < 2^60 and every count is positive.
  const std::int64_t limit = std::int64_t{1} << 30;
  for (const Operation& op : prefill_layer(s, PrefillChunk{limit, limit}, {})) {
    EXPECT_GT(op.flops, 0) << to_string(op.kind);
    EXPECT_GT(op.bytes(), 0) << to_string(op.kind);
  }
  // A tensor-parallel degree that does not divide the heads is bad input, not an internal error.
  DecomposeOptions tp3;
  tp3.tensor_parallel = 3;
  EXPECT_THROW(prefill_layer(s, PrefillChunk{16, 16}, tp3), InputError);
}

}  // namespace kvsim

#include "models/compute/roofline.hpp"
#include "sim/report/breakdown.hpp"

namespace kvsim {

TEST(Operations, BreakdownsOfHugeCountsAreInputErrorsNotNegativeFlopsOrHugeAllocations) {
  const LlmSpec s = catalog::llm("llama-2-7b");
  const RooflineModel roofline(catalog::gpu("a100-sxm4-80gb"), RooflineModel::Params{});
  // 2^33 prompt tokens used to print negative FLOPs with exit 0.
  EXPECT_THROW(report::prefill_breakdown(s, roofline, {}, std::int64_t{1} << 33), InputError);
  // 2^40 requests: refused before one KV length per request (8 TiB) is allocated.
  EXPECT_THROW(report::decode_breakdown(s, roofline, {}, std::int64_t{1} << 40, 100), InputError);
  // Within the limits every total is positive: 2^20 tokens, 32 layers.
  const report::PassBreakdown pass =
      report::prefill_breakdown(s, roofline, {}, std::int64_t{1} << 20);
  EXPECT_GT(pass.flops, 0);
  EXPECT_GT(pass.bytes, 0);
}

}  // namespace kvsim
