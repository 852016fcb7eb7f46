// DeepSeek-V2/V3: mixture of experts with multi-head latent attention. The catalog entry's
// parameter counts against the published ones, the Hugging Face import of deepseek_v2/v3
// (experts from hf_moe.cpp, latent attention from mla.cpp) and its refusals.
//
// Sources: huggingface.co/deepseek-ai/DeepSeek-V3 and DeepSeek-V2-Lite, blob/main/config.json
// (tests/models/hf_configs/); DeepSeek-V3 Technical Report (arXiv:2412.19437): 671 B total,
// 37 B activated per token; DeepSeek-V2 paper (arXiv:2405.04434): V2-Lite 15.7 B total, 2.4 B
// activated.
#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "models/llm/llm_spec.hpp"
#include "tests/models/hf_config_files.hpp"
#include "sim/core/input_error.hpp"

namespace kvsim {
namespace {

using hf_test::import_file;

// DeepSeek's activated counts leave the input embedding out (a gather, not a product): V2-Lite's
// 2.4 B is kvsim's active count less its 0.21 B embedding (2.66 B with it).
double activated(const LlmSpec& s) {
  return static_cast<double>(s.active_parameters() - s.vocab_size * s.hidden_size);
}

}  // namespace

TEST(DeepSeekCatalog, V3ParametersMatchThePublishedCounts) {
  const LlmSpec s = catalog::llm("deepseek-v3");
  // Attention a layer (MLA): q_a 7168 x 1536 + its norm 1536 + q_b 1536 x 128 x 192 =
  // 48,760,320; kv_a 7168 x 576 + its norm 512 = 4,129,280; kv_b 512 x 128 x 256 = 16,777,216;
  // o 128 x 128 x 7168 = 117,440,512: 187,107,328, x 61 = 11,413,547,008. Dense MLP 3 x 7168 x
  // 18432 = 396,361,728 x 3 layers = 1,189,085,184. MoE layer: router 7168 x 256 = 1,835,008,
  // 257 experts (256 routed, 1 shared) x 3 x 7168 x 2048 = 11,318,329,344: 11,320,164,352 x 58
  // = 656,569,532,416. Norms 2 x 7168 x 61 + 7168 = 881,664; embedding and LM head 2 x 129280
  // x 7168 = 1,853,358,080. Total 671,026,404,352.
  EXPECT_EQ(s.parameters(), 671'026'404'352);
  EXPECT_NEAR(static_cast<double>(s.parameters()) / 671e9, 1.0, 0.01);
  // Active: 8 routed experts of 256: 58 x (1,835,008 + 9 x 44,040,192) = 23,095,410,688 in
  // place of the experts' 656,569,532,416: 37,552,282,624, 36.63 B without the embedding.
  EXPECT_EQ(s.active_parameters(), 37'552'282'624);
  // 36.63 B against the published (rounded) 37 B: 1.0% below.
  EXPECT_NEAR(activated(s) / 37e9, 1.0, 0.015);
  // The latent KV cache: (512 + 64) x 61 layers x 2 bytes = 70,272 bytes a token in bf16.
  EXPECT_DOUBLE_EQ(s.kv_bytes_per_token(DType::kBf16), 70272.0);
}

TEST(DeepSeekImport, V3ConfigImportsAsTheCatalogEntry) {
  const LlmSpec hf = import_file("deepseek-v3.json");
  const LlmSpec catalog = catalog::llm("deepseek-v3");
  EXPECT_EQ(hf.parameters(), catalog.parameters());
  EXPECT_EQ(hf.active_parameters(), catalog.active_parameters());
  EXPECT_EQ(hf.kv_heads, 1);
  EXPECT_EQ(hf.head_dim, 192);
  EXPECT_EQ(to_json(hf)["mla"], to_json(catalog)["mla"]);
  EXPECT_EQ(to_json(hf)["moe"], to_json(catalog)["moe"]);
  EXPECT_EQ(hf.moe.first_dense_layers, 3);
  EXPECT_EQ(hf.moe.moe_layers(hf.layers), 58);
}

TEST(DeepSeekImport, V2LiteImportsWithItsPublishedCounts) {
  // No query latent (q_lora_rank null), 64 routed experts of 1408 (6 a token), 2 shared, the
  // first layer dense: 15,706,484,224 parameters (15.7 B) and 2.45 B activated (2.4 B).
  const LlmSpec s = import_file("deepseek-v2-lite.json");
  EXPECT_EQ(s.mla.q_lora_rank, 0);
  EXPECT_EQ(s.moe.experts, 64);
  EXPECT_EQ(s.moe.shared_experts, 2);
  EXPECT_EQ(s.moe.shared_intermediate, 1408);
  EXPECT_EQ(s.parameters(), 15'706'484'224);
  EXPECT_NEAR(activated(s) / 2.4e9, 1.0, 0.025);
}

TEST(DeepSeekImport, RefusesAMoeLayerFrequencyItCannotExpress) {
  auto doc = ConfigDocument::load_file(std::string(KVSIM_SOURCE_DIR) +
                                       "/tests/models/hf_configs/deepseek-v3.json");
  Json j = doc.root().json();
  j["moe_layer_freq"] = 2;
  try {
    import_hf_config(ConfigDocument(j, "config.json").root(), "test-model");
    ADD_FAILURE() << "moe_layer_freq 2 was imported";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/moe_layer_freq");
  }
}

}  // namespace kvsim
