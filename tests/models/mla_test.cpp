// Multi-head latent attention (models/llm/mla.hpp): KV bytes, parameters and attention FLOPs
// against hand-computed values for DeepSeek-V3's attention, and the catalog format's checks.
#include "models/llm/mla.hpp"

#include <gtest/gtest.h>

#include "models/llm/operations.hpp"

namespace kvsim {
namespace {

// DeepSeek-V3's attention and dense-layer widths, from
// https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json (hidden_size 7168,
// 61 layers, 128 heads, q_lora_rank 1536, kv_lora_rank 512, qk_nope_head_dim 128,
// qk_rope_head_dim 64, v_head_dim 128, intermediate_size 18432, vocab 129280). Its experts are
// left out: this is the attention of the model, written as a dense spec for the test.
Json deepseek_v3_dense() {
  return Json::parse(R"({
    "name": "deepseek-v3-attention", "source": "test", "layers": 61, "hidden_size": 7168,
    "heads": 128, "kv_heads": 1, "head_dim": 192, "intermediate_size": 18432,
    "vocab_size": 129280, "max_context": 163840, "dtype": "bf16",
    "mla": {"q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128,
            "qk_rope_head_dim": 64, "v_head_dim": 128}})");
}

LlmSpec parse(const Json& j) {
  const ConfigDocument doc(j, "spec.json");
  return parse_llm_spec(doc.root());
}

std::string error_at(const Json& j) {
  try {
    (void)parse(j);
  } catch (const InputError& e) {
    return e.pointer();
  }
  return "(accepted)";
}

const Operation& find(const std::vector<Operation>& ops, OpKind kind) {
  for (const auto& op : ops) {
    if (op.kind == kind) return op;
  }
  throw std::runtime_error("op not found: " + to_string(kind));
}

DecomposeOptions bf16(std::int64_t tp = 1) {
  DecomposeOptions o;
  o.precision = Precision{DType::kBf16, DType::kBf16, DType::kBf16};
  o.tensor_parallel = tp;
  return o;
}

}  // namespace

TEST(Mla, DeepSeekV3KvBytesPerToken) {
  const LlmSpec s = parse(deepseek_v3_dense());
  // One latent of 512 plus the shared rotary key of 64: 576 elements per layer and token.
  EXPECT_EQ(mla_kv_width(s.mla), 576);
  // bf16: 576 x 2 B = 1,152 B per layer; x 61 layers = 70,272 B per token (its decompressed
  // K and V, 128 heads x (192 + 128) x 2 B = 81,920 B per layer, are 71 times more).
  EXPECT_DOUBLE_EQ(s.kv_bytes_per_token_layer(DType::kBf16), 1152.0);
  EXPECT_DOUBLE_EQ(s.kv_bytes_per_token(DType::kBf16), 70272.0);
  EXPECT_DOUBLE_EQ(s.kv_bytes_per_token(DType::kFp8), 35136.0);  // 576 x 1 B x 61
}

TEST(Mla, DeepSeekV3AttentionParameters) {
  const LlmSpec s = parse(deepseek_v3_dense());
  // q_a_proj 7168 x 1536 = 11,010,048; q_a_layernorm 1,536; q_b_proj 1536 x 128 x 192 =
  // 37,748,736; kv_a_proj_with_mqa 7168 x 576 = 4,128,768; kv_a_layernorm 512; kv_b_proj
  // 512 x 128 x (128 + 128) = 16,777,216; o_proj 128 x 128 x 7168 = 117,440,512.
  // Sum: 187,107,328 per layer.
  EXPECT_EQ(mla_attention_parameters(s), 187'107'328);
  // No q_lora_rank (DeepSeek-V2-Lite): q_proj 7168 x 24576 = 176,160,768 replaces the q path.
  LlmSpec lite = s;
  lite.mla.q_lora_rank = 0;
  EXPECT_EQ(mla_attention_parameters(lite),
            187'107'328 - 11'010'048 - 1'536 - 37'748'736 + 176'160'768);
}

TEST(Mla, PrefillDecompressesAndRunsMultiHeadAttention) {
  const LlmSpec s = parse(deepseek_v3_dense());
  const auto ops = prefill_layer(s, PrefillChunk{4096, 4096, Mask::kCausal}, bf16());
  const Operation& attn = find(ops, OpKind::kAttention);
  // Causal pairs 4096 x 4097 / 2 = 8,390,656 per head; QK^T over 192 and PV over 128:
  // 2 x 128 heads x 8,390,656 x (192 + 128) = 687,362,539,520 FLOPs.
  EXPECT_DOUBLE_EQ(attn.flops, 687362539520.0);
  EXPECT_EQ(attn.attention.kv_heads, 128);
  EXPECT_EQ(attn.attention.head_dim, 192);
  EXPECT_EQ(attn.attention.v_head_dim, 128);
  // kv_b_proj up-projects every key's latent: 4096 x (128 x 256) x 512.
  const Operation& up = find(ops, OpKind::kKvUpProj);
  EXPECT_DOUBLE_EQ(up.flops, 2.0 * 4096 * 32768 * 512);
  // A chunk of 512 after 3,584 cached tokens up-projects all 4,096 keys (vLLM's prefill
  // context), and its 512 queries see 512 x 3584 + 512 x 513 / 2 pairs.
  const auto chunk = prefill_layer(s, PrefillChunk{512, 4096, Mask::kCausal}, bf16());
  EXPECT_EQ(find(chunk, OpKind::kKvUpProj).gemm.m, 4096);
  EXPECT_DOUBLE_EQ(find(chunk, OpKind::kAttention).flops,
                   2.0 * 128 * (512.0 * 3584 + 512.0 * 513 / 2) * 320);
  // The output projection reads 128 heads x v_head_dim 128.
  EXPECT_EQ(find(ops, OpKind::kOutProj).gemm.k, 128 * 128);
  // The fused q_a/kv_a projection: 1536 + 576 outputs.
  EXPECT_EQ(find(ops, OpKind::kQkvProj).gemm.n, 2112);
  EXPECT_EQ(find(ops, OpKind::kQUpProj).gemm.n, 128 * 192);
}

TEST(Mla, DecodeAbsorbsTheProjectionsAndAttendsOverTheLatent) {
  const LlmSpec s = parse(deepseek_v3_dense());
  const std::vector<std::int64_t> lengths{1000, 3000};
  const auto ops = decode_layer(s, lengths, bf16());
  const Operation& attn = find(ops, OpKind::kAttention);
  // Multi-query attention over the latent: keys 576 wide, values 512: 2 x 128 heads x
  // 4,000 pairs x (576 + 512) = 1,114,112,000 FLOPs.
  EXPECT_DOUBLE_EQ(attn.flops, 1114112000.0);
  EXPECT_EQ(attn.attention.kv_heads, 1);
  // Reads the queries (2 x 128 x 576 x 2 B = 294,912) and each cached latent once
  // (4,000 x 576 x 2 B = 4,608,000); writes 2 x 128 x 512 x 2 B = 262,144.
  EXPECT_DOUBLE_EQ(attn.bytes_read, 294912.0 + 4608000.0);
  EXPECT_DOUBLE_EQ(attn.bytes_written, 262144.0);
  // q_nope x W_UK: 2 x 2 rows x 128 heads x 128 x 512 = 33,554,432; x W_UV the same.
  EXPECT_DOUBLE_EQ(find(ops, OpKind::kMlaAbsorbQ).flops, 33554432.0);
  EXPECT_DOUBLE_EQ(find(ops, OpKind::kMlaAbsorbOut).flops, 33554432.0);
  EXPECT_THROW((void)find(ops, OpKind::kKvUpProj), std::runtime_error);  // no decompression
}

TEST(Mla, TensorParallelSplitsHeadsAndReplicatesTheLatent) {
  const LlmSpec s = parse(deepseek_v3_dense());
  const std::vector<std::int64_t> lengths{1000, 3000};
  const Operation attn = find(decode_layer(s, lengths, bf16(8)), OpKind::kAttention);  // a copy
  // 16 heads per GPU: 2 x 16 x 4,000 x 1,088 = 139,264,000 FLOPs; every GPU reads all latents.
  EXPECT_DOUBLE_EQ(attn.flops, 139264000.0);
  EXPECT_DOUBLE_EQ(attn.bytes_read, 2.0 * 16 * 576 * 2 + 4608000.0);
}

TEST(Mla, EagerAttentionIsRefused) {
  const LlmSpec s = parse(deepseek_v3_dense());
  DecomposeOptions o = bf16();
  o.attention = AttentionImpl::kEager;
  EXPECT_THROW((void)prefill_layer(s, PrefillChunk{16, 16, Mask::kCausal}, o), InputError);
}

TEST(Mla, CatalogFormatIsCheckedAndRoundTrips) {
  const LlmSpec s = parse(deepseek_v3_dense());
  EXPECT_EQ(to_json(s)["mla"], deepseek_v3_dense()["mla"]);
  EXPECT_EQ(parse(to_json(s)).parameters(), s.parameters());
  Json j = deepseek_v3_dense();
  j["kv_heads"] = 128;  // the latent is one KV head
  EXPECT_EQ(error_at(j), "/kv_heads");
  j = deepseek_v3_dense();
  j["head_dim"] = 128;  // must be qk_nope + qk_rope = 192
  EXPECT_EQ(error_at(j), "/head_dim");
  j = deepseek_v3_dense();
  j["mla"]["kv_lora_rank"] = 0;
  EXPECT_EQ(error_at(j), "/mla/kv_lora_rank");
  j = deepseek_v3_dense();
  j["mla"]["kv_lora"] = 512;  // unknown key
  EXPECT_EQ(error_at(j), "/mla/kv_lora");
  j = deepseek_v3_dense();
  j["kv_lora_rank"] = 512;  // flat keys would be ignored: refused
  EXPECT_EQ(error_at(j), "/kv_lora_rank");
}

TEST(Mla, HfConfigOfAnotherTypeWithLatentKeysIsRefused) {
  const auto doc = ConfigDocument::parse(R"({
    "model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008,
    "num_attention_heads": 32, "num_hidden_layers": 32, "vocab_size": 32000,
    "max_position_embeddings": 4096, "kv_lora_rank": 512})", "config.json");
  try {
    (void)import_hf_config(doc.root(), "m");
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/kv_lora_rank");
  }
}

}  // namespace kvsim
