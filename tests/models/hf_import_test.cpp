#include <functional>

#include <gtest/gtest.h>

#include "models/llm/llm_spec.hpp"
#include "tests/models/hf_config_files.hpp"

namespace kvsim {
namespace {

using hf_test::import;

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

namespace kvsim {
namespace {

using hf_test::import_file;

// The InputError an import throws (an empty one, and a test failure, when none is thrown).
InputError refusal(const std::function<void()>& import) {
  try {
    import();
  } catch (const InputError& e) {
    return e;
  }
  ADD_FAILURE() << "expected an InputError";
  return InputError("", "", "");
}

}  // namespace

TEST(HfImport, LatentAttentionConfigsAreRefusedByKey) {
  // DeepSeek-V2/V3 import (deepseek_test.cpp); latent-attention keys in another model type are
  // refused by their own key; null leaves a feature off.
  const InputError mla = refusal([] {
    import(R"({"model_type": "llama", "hidden_size": 2048, "intermediate_size": 10944,
               "num_attention_heads": 16, "num_hidden_layers": 27, "vocab_size": 102400,
               "max_position_embeddings": 4096, "n_routed_experts": null, "kv_lora_rank": 512})");
  });
  EXPECT_EQ(mla.pointer(), "/kv_lora_rank");
  EXPECT_NE(mla.message().find("latent attention"), std::string::npos) << mla.what();
  const InputError moe_prefix = refusal([] {
    import(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
               "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 100,
               "max_position_embeddings": 64, "moe_intermediate_size": 32})");
  });
  EXPECT_EQ(moe_prefix.pointer(), "/moe_intermediate_size");
  const InputError quantised = refusal([] {
    import(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
               "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 100,
               "max_position_embeddings": 64, "quantization_config": {"bits": 4}})");
  });
  EXPECT_EQ(quantised.pointer(), "/quantization_config");
}

TEST(HfImport, UnmodelledModelTypesAreRefusedWithTheReason) {
  // An architecture kvsim does not know is refused naming its model_type.
  const InputError mamba = refusal([] {
    import(R"({"model_type": "mamba", "hidden_size": 64, "num_hidden_layers": 2})");
  });
  EXPECT_EQ(mamba.pointer(), "/model_type");
  EXPECT_NE(mamba.message().find("'mamba'"), std::string::npos) << mamba.what();
  // A MoE model type kvsim does not import is refused by its model_type, with the reason.
  const InputError dbrx = refusal([] {
    import(R"({"model_type": "dbrx", "hidden_size": 64, "intermediate_size": 128,
               "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 100,
               "max_position_embeddings": 64})");
  });
  EXPECT_EQ(dbrx.pointer(), "/model_type");
  EXPECT_NE(dbrx.message().find("mixture of experts"), std::string::npos) << dbrx.what();
}

TEST(HfImport, SlidingWindowIsRecordedOnlyWhereItIsShorterThanTheContextAndSwitchedOn) {
  // Mistral-7B-v0.1: a 4096-token window under a 32768-token context.
  const LlmSpec mistral = import_file("mistral-7b-v0.1.json");
  EXPECT_EQ(mistral.sliding_window, 4096);
  EXPECT_EQ(mistral.max_context, 32768);
  EXPECT_EQ(to_json(mistral)["sliding_window"], 4096);
  // Qwen2-7B-Instruct: "use_sliding_window": false switches its 131072-token window off.
  const LlmSpec qwen2 = import_file("qwen2-7b-instruct.json");
  EXPECT_EQ(qwen2.sliding_window, 0);
  EXPECT_EQ(qwen2.kv_heads, 4);
  EXPECT_FALSE(to_json(qwen2).contains("sliding_window"));
}

TEST(HfImport, ErrorsNameTheConfigFileAndTheKey) {
  // 32 heads over 5 KV heads: the error points at the KV-head key of config.json.
  const InputError kv = refusal([] {
    import(R"({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008,
               "num_attention_heads": 32, "num_key_value_heads": 5, "num_hidden_layers": 32,
               "vocab_size": 32000, "max_position_embeddings": 4096})");
  });
  EXPECT_EQ(kv.file(), "config.json");
  EXPECT_EQ(kv.pointer(), "/num_key_value_heads");
  // 4100 is not a multiple of 32 heads and no head_dim is given: refused, not truncated to 128.
  const InputError width = refusal([] {
    import(R"({"model_type": "llama", "hidden_size": 4100, "intermediate_size": 11008,
               "num_attention_heads": 32, "num_hidden_layers": 32, "vocab_size": 32000,
               "max_position_embeddings": 4096})");
  });
  EXPECT_EQ(width.pointer(), "/num_attention_heads");
  EXPECT_EQ(refusal([] {
              import(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
                         "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 100,
                         "max_position_embeddings": 64, "torch_dtype": "float8_e4m3fn"})");
            }).pointer(),
            "/torch_dtype");
}

TEST(HfImport, CountsBeyondKvsimsLimitsAreRefusedNamingTheLimit) {
  // 10^12 layers used to overflow the parameter count into a negative number.
  const InputError layers = refusal([] {
    import(R"({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008,
               "num_attention_heads": 32, "num_hidden_layers": 1000000000000, "vocab_size": 32000,
               "max_position_embeddings": 4096})");
  });
  EXPECT_EQ(layers.pointer(), "/num_hidden_layers");
  EXPECT_NE(layers.message().find("4096"), std::string::npos) << layers.what();  // the limit
  EXPECT_EQ(refusal([] {
              import(R"({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008,
                         "num_attention_heads": 32, "num_hidden_layers": 32,
                         "vocab_size": 4000000000000, "max_position_embeddings": 4096})");
            }).pointer(),
            "/vocab_size");
}

}  // namespace kvsim
