// The catalog models of the engine measurements (../shared/data/engines): BLOOM-176B, GPT-J-6B
// and Falcon-180B, checked against their published parameter counts.
#include "models/catalog/catalog.hpp"

#include <cmath>

#include <gtest/gtest.h>

namespace kvsim {
namespace {

// Within 2% of the count the model's publishers give.
void expect_near_published(const LlmSpec& s, double published) {
  const double n = static_cast<double>(s.parameters());
  EXPECT_LE(std::abs(n - published) / published, 0.02) << s.name << ": " << n;
}

}  // namespace

TEST(EngineCatalog, Bloom176bParameters) {
  const LlmSpec s = catalog::llm("bloom-176b");
  // Per layer: attention 4 x 14336^2 = 822,083,584; MLP 2 x 14336 x 57344 = 1,644,167,168;
  // two LayerNorms 4 x 14336 = 57,344 -> 2,466,308,096 x 70 = 172,641,566,720; tied embedding
  // 250880 x 14336 = 3,596,615,680; final LayerNorm 28,672. Total 176,238,211,072 (BigScience:
  // 176,247,271,424 with the biases and the embedding LayerNorm).
  EXPECT_EQ(s.parameters(), 176'238'211'072);
  expect_near_published(s, 176e9);
  EXPECT_EQ(s.positional, PositionalKind::kAlibi);
  EXPECT_FALSE(s.gated_mlp);
  // MHA: 2 x 70 layers x 112 KV heads x 128 x 2 bytes = 4,014,080 B per token.
  EXPECT_DOUBLE_EQ(s.kv_bytes_per_token(DType::kFp16), 4014080.0);
}

TEST(EngineCatalog, GptJ6bParameters) {
  const LlmSpec s = catalog::llm("gpt-j-6b");
  // Per layer: attention 4 x 4096^2 = 67,108,864; MLP 2 x 4096 x 16384 = 134,217,728; one
  // LayerNorm (parallel block) 8,192 -> 201,334,784 x 28 = 5,637,373,952; untied embedding and
  // LM head 2 x 50400 x 4096 = 412,876,800; final LayerNorm 8,192. Total 6,050,258,944
  // (EleutherAI: 6,053,381,344 with the biases).
  EXPECT_EQ(s.parameters(), 6'050'258'944);
  expect_near_published(s, 6.053381344e9);
  EXPECT_EQ(s.head_dim, 256);
  EXPECT_TRUE(s.parallel_attention);
}

TEST(EngineCatalog, Falcon180bParameters) {
  const LlmSpec s = catalog::llm("falcon-180b");
  // Per layer: QKV 14848 x (14848 + 2 x 8 x 64) = 235,667,456; dense 14848^2 = 220,463,104;
  // MLP 2 x 14848 x 59392 = 1,763,704,832; one LayerNorm 29,696 -> 2,219,865,088 x 80 =
  // 177,589,207,040; tied embedding 65024 x 14848 = 965,476,352; final LayerNorm 29,696.
  // Total 178,554,713,088 (TII: "180B").
  EXPECT_EQ(s.parameters(), 178'554'713'088);
  expect_near_published(s, 180e9);
  // GQA: 2 x 80 x 8 x 64 x 2 bytes = 163,840 B per token.
  EXPECT_DOUBLE_EQ(s.kv_bytes_per_token(DType::kFp16), 163840.0);
}

}  // namespace kvsim
