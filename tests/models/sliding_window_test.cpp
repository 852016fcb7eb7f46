// Sliding-window attention: attention FLOPs, keys read and KV memory bounded by the window, per
// layer, against hand-computed values (Mistral-7B-v0.1: every layer; Gemma-2: alternating local
// and global layers; Gemma-3: five local to one global).
#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "models/llm/operations.hpp"

namespace kvsim {
namespace {

std::vector<Operation> attention(const std::vector<Operation>& ops) {
  std::vector<Operation> out;
  for (const auto& op : ops) {
    if (op.kind == OpKind::kAttention) out.push_back(op);
  }
  return out;
}

// Gemma-2-9B's attention (https://huggingface.co/google/gemma-2-9b/blob/main/config.json:
// 42 layers, 16 heads, 8 KV heads of 256, sliding_window 4096, every other layer global).
LlmSpec gemma2_9b_like() {
  LlmSpec s = catalog::llm("llama-2-7b");
  s.name = "gemma-2-9b-like";
  s.layers = 42;
  s.hidden_size = 3584;
  s.heads = 16;
  s.kv_heads = 8;
  s.head_dim = 256;
  s.sliding_window = 4096;
  s.sliding_window_pattern = 2;
  return s;
}

}  // namespace

TEST(SlidingWindow, WindowedPairsClosedForm) {
  // Queries at positions 1..8192, each seeing min(position, 4096) keys:
  // 4096 x 4097 / 2 + 4096 x 4096 = 8,390,656 + 16,777,216 = 25,167,872.
  EXPECT_EQ(windowed_pairs(8192, 8192, 4096), 25'167'872);
  // The last 1024 queries of 8192 all see a full window: 1024 x 4096.
  EXPECT_EQ(windowed_pairs(1024, 8192, 4096), 4'194'304);
  // Within the window it is the causal count.
  EXPECT_EQ(windowed_pairs(512, 3000, 4096), causal_pairs(512, 3000));
}

TEST(SlidingWindow, MistralPrefillAndDecodeAttentionStopGrowingAtTheWindow) {
  const LlmSpec s = catalog::llm("mistral-7b");
  ASSERT_EQ(s.sliding_window, 4096);
  ASSERT_EQ(s.windowed_layers(), 32);
  const auto ops = attention(prefill_layer(s, PrefillChunk{8192, 8192, Mask::kCausal}, {}));
  ASSERT_EQ(ops.size(), 1u);
  // 4 x 32 heads x 128 x 25,167,872 pairs = 412,350,414,848 FLOPs (full causal attention
  // would be 4 x 32 x 128 x 33,558,528).
  EXPECT_DOUBLE_EQ(ops[0].flops, 412350414848.0);
  EXPECT_EQ(ops[0].layer_share, 1.0);
  // A chunk of 1024 after 7168 cached tokens reads the 1024 + 4095 keys its queries see.
  const auto chunk = attention(prefill_layer(s, PrefillChunk{1024, 8192, Mask::kCausal}, {}));
  EXPECT_EQ(chunk[0].attention.kv_tokens, 5119);
  EXPECT_DOUBLE_EQ(chunk[0].flops, 4.0 * 32 * 128 * 4194304);
  // Decode: a request of 5000 tokens attends to its last 4096; one of 100 to all 100.
  const std::vector<std::int64_t> lengths{100, 5000};
  const auto decode = attention(decode_layer(s, lengths, {}));
  EXPECT_EQ(decode[0].attention.kv_tokens, 4196);
  EXPECT_EQ(decode[0].attention.longest_kv, 4096);
  EXPECT_DOUBLE_EQ(decode[0].flops, 4.0 * 32 * 128 * 4196);
  // KV memory: every layer keeps 4096 tokens at most.
  EXPECT_DOUBLE_EQ(s.kv_bytes_for(DType::kBf16, 8192), 4096 * s.kv_bytes_per_token(DType::kBf16));
  EXPECT_DOUBLE_EQ(s.kv_bytes_for(DType::kBf16, 1000), 1000 * s.kv_bytes_per_token(DType::kBf16));
}

TEST(SlidingWindow, GemmaAlternatingLayersEachGetTheirShare) {
  const LlmSpec s = gemma2_9b_like();
  EXPECT_EQ(s.windowed_layers(), 21);  // layers 0, 2, ..., 40 local; 1, 3, ..., 41 global
  const auto ops = prefill_layer(s, PrefillChunk{8192, 8192, Mask::kCausal}, {});
  const auto attn = attention(ops);
  ASSERT_EQ(attn.size(), 2u);
  EXPECT_EQ(attn[0].attention.window, 4096);
  EXPECT_EQ(attn[1].attention.window, 0);
  EXPECT_DOUBLE_EQ(attn[0].layer_share, 0.5);
  EXPECT_DOUBLE_EQ(attn[1].layer_share, 0.5);
  // Local: 4 x 16 x 256 x 25,167,872 = 412,350,414,848; global: 4 x 16 x 256 x 33,558,528 =
  // 549,822,922,752. The mean layer does half of each.
  EXPECT_DOUBLE_EQ(attn[0].flops, 412350414848.0);
  EXPECT_DOUBLE_EQ(attn[1].flops, 549822922752.0);
  double flops = 0;
  for (const auto& op : ops) flops += op.kind == OpKind::kAttention ? 0.0 : op.flops;
  EXPECT_DOUBLE_EQ(total_flops(ops), flops + 0.5 * 412350414848.0 + 0.5 * 549822922752.0);
  // KV: 2 x 8 x 256 x 2 B = 8,192 B per layer and token; 21 global layers keep 8192 tokens and
  // 21 local ones 4096: (21 x 8192 + 21 x 4096) x 8192 = 2,113,929,216 B.
  EXPECT_DOUBLE_EQ(s.kv_bytes_for(DType::kBf16, 8192), 2113929216.0);
}

TEST(SlidingWindow, GemmaThreeFiveLocalToOneGlobal) {
  LlmSpec s = gemma2_9b_like();
  s.layers = 62;  // Gemma-3-27B
  s.sliding_window = 1024;
  s.sliding_window_pattern = 6;
  EXPECT_EQ(s.windowed_layers(), 52);  // layers 5, 11, ..., 59 global: 10 of 62
  const auto attn = attention(prefill_layer(s, PrefillChunk{2048, 2048, Mask::kCausal}, {}));
  ASSERT_EQ(attn.size(), 2u);
  EXPECT_DOUBLE_EQ(attn[0].layer_share, 52.0 / 62.0);
  EXPECT_DOUBLE_EQ(attn[1].layer_share, 10.0 / 62.0);
}

TEST(SlidingWindow, EagerAttentionComputesTheWholeRectangleWindowOrNot) {
  const LlmSpec s = gemma2_9b_like();
  DecomposeOptions o;
  o.attention = AttentionImpl::kEager;
  const auto ops = prefill_layer(s, PrefillChunk{1024, 8192, Mask::kCausal}, o);
  std::size_t scores = 0;
  for (const auto& op : ops) scores += op.kind == OpKind::kAttnScores;
  EXPECT_EQ(scores, 1u);  // one kind: the mask changes nothing the eager kernels compute
}

}  // namespace kvsim
