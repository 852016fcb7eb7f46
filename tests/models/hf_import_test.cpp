#include <gtest/gtest.h>

#include "models/llm/llm_spec.hpp"

namespace kvsim {
namespace {

LlmSpec import(const std::string& text) {
  const auto doc = ConfigDocument::parse(text, "config.json");
  return import_hf_config(doc.root(), "test-model");
}

}  // namespace

TEST(HfImport, LlamaStyleConfig) {
  // A config written for this test in the shape of Llama-2-13B's config.json.
  const LlmSpec s = import(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 5120,
    "intermediate_size": 13824, "num_attention_heads": 40, "num_hidden_layers": 40,
    "num_key_value_heads": 40, "vocab_size": 32000, "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-05, "torch_dtype": "float16", "tie_word_embeddings": false})");
  EXPECT_EQ(s.name, "test-model");
  EXPECT_EQ(s.layers, 40);
  EXPECT_EQ(s.hidden_size, 5120);
  EXPECT_EQ(s.heads, 40);
  EXPECT_EQ(s.kv_heads, 40);
  EXPECT_EQ(s.head_dim, 128);  // 5120 / 40
  EXPECT_EQ(s.intermediate_size, 13824);
  EXPECT_EQ(s.vocab_size, 32000);
  EXPECT_EQ(s.max_context, 4096);
  EXPECT_TRUE(s.gated_mlp);
  EXPECT_FALSE(s.parallel_attention);
  EXPECT_FALSE(s.tied_embeddings);
  EXPECT_EQ(s.norm, NormKind::kRmsNorm);
  EXPECT_EQ(s.positional, PositionalKind::kRope);
  EXPECT_EQ(s.dtype, DType::kFp16);
}

TEST(HfImport, GroupedQueryAttentionWithExplicitHeadDim) {
  const LlmSpec s = import(R"({
    "model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944,
    "num_attention_heads": 28, "num_hidden_layers": 28, "num_key_value_heads": 4,
    "head_dim": 128, "vocab_size": 152064, "max_position_embeddings": 32768,
    "torch_dtype": "bfloat16"})");
  EXPECT_EQ(s.kv_heads, 4);
  EXPECT_EQ(s.head_dim, 128);
  EXPECT_EQ(s.dtype, DType::kBf16);
  EXPECT_TRUE(s.gated_mlp);
}

TEST(HfImport, FalconMultiQueryParallelBlock) {
  // Falcon-7B's config: n_head 71, multi_query, no intermediate size, no context length.
  const LlmSpec s = import(R"({
    "model_type": "falcon", "hidden_size": 4544, "n_head": 71, "n_layer": 32,
    "multi_query": true, "parallel_attn": true, "vocab_size": 65024, "alibi": false,
    "bias": false, "torch_dtype": "bfloat16", "new_decoder_architecture": false})");
  EXPECT_EQ(s.heads, 71);
  EXPECT_EQ(s.kv_heads, 1);
  EXPECT_EQ(s.head_dim, 64);
  EXPECT_EQ(s.intermediate_size, 4 * 4544);
  EXPECT_EQ(s.max_context, 2048);
  EXPECT_FALSE(s.gated_mlp);
  EXPECT_TRUE(s.parallel_attention);
  EXPECT_TRUE(s.tied_embeddings);
  EXPECT_EQ(s.norm, NormKind::kLayerNorm);
}

TEST(HfImport, UnsupportedModelTypeAndMissingFieldsAreInputErrors) {
  EXPECT_THROW(import(R"({"model_type": "t5", "hidden_size": 8})"), InputError);
  try {
    import(R"({"model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32,
               "intermediate_size": 11008, "vocab_size": 32000,
               "max_position_embeddings": 4096})");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.message().find("num_hidden_layers"), std::string::npos) << e.what();
  }
}

}  // namespace kvsim
