// The Hugging Face model types added for issue 17 (qwen3, gemma2, gemma3, phi3, bloom, gptj and
// falcon's newer decoder), each from a config written for the test with the real model's values
// (tests/models/hf_configs/README.md names each source).
#include <functional>

#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "models/llm/llm_spec.hpp"
#include "tests/models/hf_config_files.hpp"

namespace kvsim {
namespace {

using hf_test::import_file;

using hf_test::import;

std::string refused_at(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.pointer();
  }
  return "(accepted)";
}

}  // namespace

TEST(HfImportTypes, Qwen3_8b) {
  // huggingface.co/Qwen/Qwen3-8B: 36 layers, hidden 4096, 32 heads and 8 KV heads of 128
  // (explicit head_dim), SwiGLU 12288, vocab 151936, 40960 positions, window off, untied.
  const LlmSpec s = import_file("qwen3-8b.json");
  EXPECT_EQ(s.layers, 36);
  EXPECT_EQ(s.kv_heads, 8);
  EXPECT_EQ(s.head_dim, 128);
  EXPECT_EQ(s.intermediate_size, 12288);
  EXPECT_EQ(s.max_context, 40960);
  EXPECT_EQ(s.sliding_window, 0);
  EXPECT_TRUE(s.gated_mlp);
  EXPECT_FALSE(s.tied_embeddings);
  EXPECT_EQ(s.dtype, DType::kBf16);
  // Per layer 41,943,040 attention + 150,994,944 MLP + 8,192 norms = 192,946,176 x 36, plus
  // 2 x 151936 x 4096 embeddings and the final norm: 8,190,726,144 (Qwen: 8.2 B; the
  // checkpoint's 8,190,735,360 adds the 9,216 query/key norm weights kvsim leaves out).
  EXPECT_EQ(s.parameters(), 8'190'726'144);
}

TEST(HfImportTypes, Gemma2_9bAlternatesLocalAndGlobalLayers) {
  // huggingface.co/google/gemma-2-9b: 42 layers, 16 heads and 8 KV heads of 256, window 4096
  // on every other layer (the first local), GeGLU 14336, vocab 256000, tied, float32.
  const LlmSpec s = import_file("gemma-2-9b.json");
  EXPECT_EQ(s.head_dim, 256);
  EXPECT_EQ(s.sliding_window, 4096);
  EXPECT_EQ(s.sliding_window_pattern, 2);
  EXPECT_EQ(s.windowed_layers(), 21);
  EXPECT_TRUE(s.tied_embeddings);
  EXPECT_TRUE(s.gated_mlp);
  EXPECT_EQ(s.dtype, DType::kFp32);
  // Google (Gemma 2 report, table 1): 8,324,201,984 non-embedding + 917,504,000 embedding
  // parameters; kvsim counts two of the four RMSNorms a layer: 42 x 2 x 3584 short.
  EXPECT_EQ(s.parameters(), 8'324'201'984 + 917'504'000 - 42 * 2 * 3584);
  EXPECT_EQ(to_json(s)["sliding_window_pattern"], 2);
}

TEST(HfImportTypes, Gemma3NestsItsTextModel) {
  // huggingface.co/google/gemma-3-27b-it: the language model in text_config (62 layers, hidden
  // 5376, 32 heads and 16 KV heads of 128, GeGLU 21504, window 1024); vocab 262208, 131072
  // positions and five local layers to one global are Gemma3TextConfig's defaults.
  const LlmSpec s = import_file("gemma-3-27b-it.json");
  EXPECT_EQ(s.layers, 62);
  EXPECT_EQ(s.hidden_size, 5376);
  EXPECT_EQ(s.kv_heads, 16);
  EXPECT_EQ(s.head_dim, 128);
  EXPECT_EQ(s.vocab_size, 262208);
  EXPECT_EQ(s.max_context, 131072);
  EXPECT_EQ(s.sliding_window, 1024);
  EXPECT_EQ(s.sliding_window_pattern, 6);
  EXPECT_EQ(s.windowed_layers(), 52);  // layers 5, 11, ..., 59 global
  EXPECT_EQ(s.dtype, DType::kBf16);    // beside text_config
  // An error inside the nested config names its key there.
  EXPECT_EQ(refused_at([] {
              import(R"({"model_type": "gemma3", "text_config": {"hidden_size": 64,
                         "num_hidden_layers": 2, "num_attention_heads": 4,
                         "num_key_value_heads": 3, "intermediate_size": 128}})");
            }),
            "/text_config/num_key_value_heads");
  EXPECT_EQ(refused_at([] { import(R"({"model_type": "gemma3"})"); }), "");
}

TEST(HfImportTypes, LayerTypesSetThePatternOrAreRefused) {
  const std::string head = R"({"model_type": "gemma2", "hidden_size": 64,
      "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 128,
      "vocab_size": 100, "max_position_embeddings": 8192, "sliding_window": 1024, )";
  const LlmSpec alternating = import(head + R"("layer_types": ["sliding_attention",
      "full_attention", "sliding_attention", "full_attention"]})");
  EXPECT_EQ(alternating.sliding_window_pattern, 2);
  const LlmSpec all_full = import(head + R"("layer_types": ["full_attention", "full_attention",
      "full_attention", "full_attention"]})");
  EXPECT_EQ(all_full.sliding_window, 0);
  EXPECT_EQ(refused_at([&] {
              import(head + R"("layer_types": ["sliding_attention", "full_attention",
                  "full_attention", "sliding_attention"]})");
            }),
            "/layer_types");
  EXPECT_EQ(refused_at([&] {
              import(head + R"("layer_types": ["sliding_attention", "full_attention"]})");
            }),
            "/layer_types");
}

TEST(HfImportTypes, Phi3MiniWithItsWindow) {
  // huggingface.co/microsoft/Phi-3-mini-4k-instruct: 32 layers, hidden 3072, 32 heads of 96
  // (MHA), SwiGLU 8192, vocab 32064, 4096 positions, sliding_window 2047 on every layer.
  const LlmSpec s = import_file("phi-3-mini-4k-instruct.json");
  EXPECT_EQ(s.head_dim, 96);
  EXPECT_EQ(s.kv_heads, 32);
  EXPECT_EQ(s.sliding_window, 2047);
  EXPECT_EQ(s.windowed_layers(), 32);
  EXPECT_FALSE(s.tied_embeddings);
  // 32 x (37,748,736 + 75,497,472 + 6,144) + 2 x 32064 x 3072 + 3072 = 3,821,079,552
  // (Microsoft: 3.8 B).
  EXPECT_EQ(s.parameters(), 3'821'079'552);
}

TEST(HfImportTypes, BloomUsesAlibiAndMatchesTheCatalog) {
  // huggingface.co/bigscience/bloom: n_layer 70, hidden 14336, n_head 112, vocab 250880,
  // n_inner null (4 x hidden), no context length (trained at 2048), ALiBi, tied.
  const LlmSpec s = import_file("bloom.json");
  EXPECT_EQ(s.positional, PositionalKind::kAlibi);
  EXPECT_EQ(s.intermediate_size, 4 * 14336);
  EXPECT_EQ(s.max_context, 2048);
  EXPECT_EQ(s.norm, NormKind::kLayerNorm);
  EXPECT_FALSE(s.gated_mlp);
  EXPECT_TRUE(s.tied_embeddings);
  EXPECT_EQ(s.parameters(), catalog::llm("bloom-176b").parameters());
}

TEST(HfImportTypes, GptjParallelBlockAndPartialRotary) {
  // huggingface.co/EleutherAI/gpt-j-6b: n_layer 28, n_embd 4096, n_head 16 (of 256),
  // rotary_dim 64, n_inner null, n_positions 2048, vocab 50400, untied.
  const LlmSpec s = import_file("gpt-j-6b.json");
  EXPECT_TRUE(s.parallel_attention);
  EXPECT_EQ(s.rotary_dim, 64);
  EXPECT_EQ(s.head_dim, 256);
  EXPECT_EQ(s.intermediate_size, 16384);
  EXPECT_EQ(s.max_context, 2048);
  EXPECT_FALSE(s.tied_embeddings);
  const LlmSpec shipped = catalog::llm("gpt-j-6b");
  EXPECT_EQ(s.parameters(), shipped.parameters());
  EXPECT_EQ(shipped.rotary_dim, 64);
}

TEST(HfImportTypes, FalconNewDecoderArchitecture) {
  // huggingface.co/tiiuae/falcon-40b: 60 layers, hidden 8192, 128 heads of 64 and
  // num_kv_heads 8 (new_decoder_architecture), parallel attention, vocab 65024.
  const LlmSpec s = import_file("falcon-40b.json");
  EXPECT_EQ(s.kv_heads, 8);  // not multi-query, though "multi_query" is true
  EXPECT_EQ(s.head_dim, 64);
  EXPECT_TRUE(s.parallel_attention);
  EXPECT_EQ(s.max_context, 2048);
  EXPECT_EQ(s.parameters(), catalog::llm("falcon-40b").parameters());
}

}  // namespace kvsim
