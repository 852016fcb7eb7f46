#include "models/catalog/catalog.hpp"

#include <gtest/gtest.h>

namespace kvsim {

TEST(Catalog, EveryShippedModelAndGpuLoads) {
  const auto llms = catalog::llm_names();
  const auto gpus = catalog::gpu_names();
  EXPECT_GE(llms.size(), 13u);
  EXPECT_GE(gpus.size(), 6u);
  for (const auto& name : llms) {
    const LlmSpec s = catalog::llm(name);
    EXPECT_EQ(s.name, name);
    EXPECT_EQ(s.heads % s.kv_heads, 0) << name;
    EXPECT_FALSE(s.source.empty()) << name;
  }
  for (const auto& name : gpus) {
    const GpuSpec g = catalog::gpu(name);
    EXPECT_EQ(g.name, name);
    EXPECT_GT(g.fp16_flops, 1e14) << name;
  }
}

TEST(Catalog, Llama2_7bParametersAndKvBytes) {
  const LlmSpec s = catalog::llm("llama-2-7b");
  // Per layer: attention 4 x 4096^2 = 67,108,864; MLP 3 x 4096 x 11008 = 135,266,304;
  // two RMSNorms 8,192 -> 202,383,360 x 32 = 6,476,267,520; embedding and LM head
  // 2 x 32000 x 4096 = 262,144,000; final norm 4,096. Total 6,738,415,616 (Hugging Face: 6.74B).
  EXPECT_EQ(s.parameters(), 6'738'415'616);
  // 2 (K and V) x 32 layers x 32 KV heads x 128 x 2 bytes = 524,288 B = 512 KiB.
  EXPECT_DOUBLE_EQ(s.kv_bytes_per_token(DType::kFp16), 524288.0);
  EXPECT_DOUBLE_EQ(s.kv_bytes_per_token(DType::kFp8), 262144.0);
}

TEST(Catalog, Llama2_7bWeightAndActivationMemory) {
  const LlmSpec s = catalog::llm("llama-2-7b");
  // 6,738,415,616 parameters x 2 bytes = 13,476,831,232 B (about 13.5 GB, "14 GB in fp16").
  EXPECT_DOUBLE_EQ(s.weight_bytes(DType::kFp16), 13476831232.0);
  // Residual + normed input 2 x 4096; attention half (32 + 2 x 32) x 128 + 32 x 128 = 16,384;
  // MLP half 2 x 11008 + 11008 = 33,024 (larger): 41,216 elements x 2 B = 82,432 B per token.
  EXPECT_DOUBLE_EQ(s.activation_bytes_per_token(DType::kFp16), 82432.0);
}

TEST(Catalog, MultiQueryAndGroupedQueryKvBytes) {
  // Falcon-7B: 2 x 32 layers x 1 KV head x 64 x 2 bytes = 8,192 B (8 KiB), 64x less than Llama.
  EXPECT_DOUBLE_EQ(catalog::llm("falcon-7b").kv_bytes_per_token(DType::kFp16), 8192.0);
  // Llama-3-70B: 2 x 80 x 8 x 128 x 2 = 327,680 B.
  EXPECT_DOUBLE_EQ(catalog::llm("llama-3-70b").kv_bytes_per_token(DType::kBf16), 327680.0);
}

TEST(Catalog, Falcon7bParameters) {
  // Per layer: QKV 4544 x (4544 + 2 x 64) = 21,229,568; dense 4544^2 = 20,647,936;
  // MLP 2 x 4544 x 18176 = 165,183,488; one LayerNorm 2 x 4544 = 9,088 -> 207,070,080 x 32
  // = 6,626,242,560; tied embedding 65024 x 4544 = 295,469,056; final norm 9,088.
  EXPECT_EQ(catalog::llm("falcon-7b").parameters(), 6'921'720'704);
}

TEST(Catalog, GpuRatesParsedWithUnits) {
  const GpuSpec a100 = catalog::gpu("a100-sxm4-80gb");
  EXPECT_DOUBLE_EQ(a100.fp16_flops, 312e12);
  EXPECT_DOUBLE_EQ(a100.hbm_bandwidth, 2039e9);
  EXPECT_DOUBLE_EQ(a100.nvlink_bandwidth, 300e9);
  EXPECT_EQ(a100.sm_count, 108);
  // No FP8 tensor cores on A100: fp8 runs as W8A16 at the fp16 rate, not the 624 TOP/s INT8 one.
  EXPECT_DOUBLE_EQ(a100.peak_flops(DType::kFp8), 312e12);
  EXPECT_DOUBLE_EQ(a100.peak_flops(DType::kInt8), 624e12);
  EXPECT_DOUBLE_EQ(catalog::gpu("h100-sxm").peak_flops(DType::kFp8), 1979e12);
}

TEST(Catalog, Mistral7bRecordsItsSlidingWindow) {
  // Mistral-7B-v0.1 attends over 4096 tokens of its 32768-token context (its config.json).
  const LlmSpec s = catalog::llm("mistral-7b");
  EXPECT_EQ(s.sliding_window, 4096);
  EXPECT_EQ(s.max_context, 32768);
  EXPECT_EQ(catalog::llm("llama-2-7b").sliding_window, 0);
}

TEST(Catalog, SpecsRefuseUnmodelledFeaturesAndCountsBeyondTheLimits) {
  Json spec = Json::parse(R"({"name": "m", "source": "test", "layers": 32, "hidden_size": 4096,
      "heads": 32, "kv_heads": 8, "head_dim": 128, "intermediate_size": 14336,
      "vocab_size": 32000, "max_context": 32768})");
  const auto error_at = [](const Json& j) {
    try {
      parse_llm_spec(ConfigNode(&j, "spec.json", Json::json_pointer()));
    } catch (const InputError& e) {
      return e.pointer();
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(error_at(spec), "(accepted)");
  Json moe = spec;
  moe["num_local_experts"] = 8;  // Mixtral's experts, written into a catalog spec
  EXPECT_EQ(error_at(moe), "/num_local_experts");
  Json mla = spec;
  mla["kv_lora_rank"] = 512;
  EXPECT_EQ(error_at(mla), "/kv_lora_rank");
  Json huge = spec;
  huge["hidden_size"] = std::int64_t{1} << 40;  // would overflow the parameter count
  EXPECT_EQ(error_at(huge), "/hidden_size");
  Json wide = spec;
  wide["head_dim"] = 65536;  // 32 x 65536 = 2^21 > the 2^20 width limit
  EXPECT_EQ(error_at(wide), "/head_dim");
}

}  // namespace kvsim
