// Mixture-of-experts models: catalog parameter counts against the authors' published totals,
// the Hugging Face import of mixtral, qwen2_moe and qwen3_moe, and weights per GPU under
// expert parallelism.
//
// Sources of the config files (tests/models/hf_configs/, written for these tests with the
// published values): huggingface.co/mistralai/Mixtral-8x7B-v0.1, Qwen/Qwen1.5-MoE-A2.7B and
// Qwen/Qwen3-235B-A22B, blob/main/config.json. Published parameter counts: Mixtral of Experts
// (Jiang et al., arXiv:2401.04088): 8x7B 46.7 B total, 12.9 B active; mistral.ai/news/
// mixtral-8x22b: 141 B total, 39 B active; Qwen3 Technical Report (arXiv:2505.09388, Table 2):
// 235 B total, 22 B activated; Qwen1.5-MoE-A2.7B model card: 14.3 B total, 2.7 B activated.
#include <functional>

#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "models/llm/llm_spec.hpp"
#include "tests/models/hf_config_files.hpp"

namespace kvsim {
namespace {

using hf_test::import_file;

using hf_test::import;

// Published counts are rounded (46.7 B, 39 B): kvsim's count, without biases and the few
// weights its notes leave out, must be within 1% of them.
constexpr double kTolerance = 0.01;

void expect_near_published(const std::string& model, double total_b, double active_b) {
  const LlmSpec s = catalog::llm(model);
  const double total = static_cast<double>(s.parameters()) / 1e9;
  const double active = static_cast<double>(s.active_parameters()) / 1e9;
  EXPECT_NEAR(total / total_b, 1.0, kTolerance) << model << " total " << total << " B";
  EXPECT_NEAR(active / active_b, 1.0, kTolerance) << model << " active " << active << " B";
}

}  // namespace

TEST(MoeCatalog, TotalAndActiveParametersMatchThePublishedCounts) {
  expect_near_published("mixtral-8x7b", 46.7, 12.9);
  expect_near_published("mixtral-8x22b", 141.0, 39.0);
  expect_near_published("qwen3-235b-a22b", 235.0, 22.0);
}

TEST(MoeCatalog, Mixtral8x7bParametersExactly) {
  const LlmSpec s = catalog::llm("mixtral-8x7b");
  // Per layer: attention 4096 x (4096 + 2 x 1024) + 4096 x 4096 = 41,943,040; router
  // 4096 x 8 = 32,768; experts 8 x 3 x 4096 x 14336 = 1,409,286,144; norms 8,192
  // -> 1,451,270,144 x 32 = 46,440,644,608; embedding and LM head 2 x 32000 x 4096 =
  // 262,144,000; final norm 4,096. Total 46,702,792,704.
  EXPECT_EQ(s.parameters(), 46'702'792'704);
  // Active: 2 experts instead of 8: 46,702,792,704 - 32 x 6 x 3 x 4096 x 14336 =
  // 46,702,792,704 - 33,822,867,456 = 12,879,925,248.
  EXPECT_EQ(s.active_parameters(), 12'879'925'248);
  // The KV cache is Mistral-7B's: 2 x 32 x 8 x 128 x 2 bytes = 131,072 B per token.
  EXPECT_DOUBLE_EQ(s.kv_bytes_per_token(DType::kBf16), 131072.0);
}

TEST(MoeCatalog, ExpertParallelGpusHoldOnlyTheirExperts) {
  const LlmSpec s = catalog::llm("mixtral-8x7b");
  // Routed experts: 32 x 8 x 3 x 4096 x 14336 = 45,097,156,608; the rest 1,605,636,096.
  EXPECT_EQ(s.routed_expert_parameters_total(), 45'097'156'608);
  // EP 8 without TP (tsp/ep): the rest whole + 1/8 of the experts = 1,605,636,096 +
  // 5,637,144,576 = 7,242,780,672 parameters x 2 bytes.
  EXPECT_DOUBLE_EQ(s.weight_bytes_per_gpu(DType::kBf16, 1, 8), 7'242'780'672.0 * 2);
  // TP 8 with or without EP 8: everything / 8.
  EXPECT_DOUBLE_EQ(s.weight_bytes_per_gpu(DType::kBf16, 8, 8), 46'702'792'704.0 * 2 / 8);
  EXPECT_DOUBLE_EQ(s.weight_bytes_per_gpu(DType::kBf16, 8, 1), 46'702'792'704.0 * 2 / 8);
  // A dense model: weights / tp, whatever ep says.
  const LlmSpec dense = catalog::llm("llama-2-7b");
  EXPECT_DOUBLE_EQ(dense.weight_bytes_per_gpu(DType::kFp16, 2, 1),
                   dense.weight_bytes(DType::kFp16) / 2);
}

TEST(MoeImport, MixtralConfigImportsTheCatalogsModel) {
  const LlmSpec s = import_file("mixtral-8x7b-v0.1.json");
  EXPECT_EQ(s.moe.experts, 8);
  EXPECT_EQ(s.moe.experts_per_token, 2);
  EXPECT_EQ(s.moe.expert_intermediate, 14336);
  EXPECT_EQ(s.moe.shared_experts, 0);
  EXPECT_EQ(s.moe.moe_layers(s.layers), 32);
  EXPECT_EQ(s.sliding_window, 0);  // "sliding_window": null
  EXPECT_EQ(s.parameters(), catalog::llm("mixtral-8x7b").parameters());
  EXPECT_EQ(s.active_parameters(), catalog::llm("mixtral-8x7b").active_parameters());
  EXPECT_EQ(to_json(s)["moe"]["experts"], 8);
}

TEST(MoeImport, Qwen2MoeConfigHasOneSharedExpert) {
  const LlmSpec s = import_file("qwen1.5-moe-a2.7b.json");
  EXPECT_EQ(s.moe.experts, 60);
  EXPECT_EQ(s.moe.experts_per_token, 4);
  EXPECT_EQ(s.moe.expert_intermediate, 1408);
  EXPECT_EQ(s.moe.shared_experts, 1);
  EXPECT_EQ(s.moe.shared_intermediate, 5632);
  // Published: 14.3 B total, 2.7 B activated (kvsim leaves out the shared expert's 2048 x 1
  // gate and the QKV biases).
  EXPECT_NEAR(static_cast<double>(s.parameters()) / 14.3e9, 1.0, kTolerance);
  EXPECT_NEAR(static_cast<double>(s.active_parameters()) / 2.7e9, 1.0, kTolerance);
}

TEST(MoeImport, Qwen3MoeConfigImportsTheCatalogsModel) {
  const LlmSpec s = import_file("qwen3-235b-a22b.json");
  EXPECT_EQ(s.moe.experts, 128);
  EXPECT_EQ(s.moe.experts_per_token, 8);
  EXPECT_EQ(s.moe.expert_intermediate, 1536);
  EXPECT_EQ(s.head_dim, 128);  // given: 64 heads x 128 is twice the hidden size
  EXPECT_EQ(s.kv_heads, 4);
  EXPECT_EQ(s.parameters(), catalog::llm("qwen3-235b-a22b").parameters());
  EXPECT_EQ(s.active_parameters(), catalog::llm("qwen3-235b-a22b").active_parameters());
}

TEST(MoeImport, LayerPatternsKvsimCannotExpressAreRefusedByKey) {
  const std::string base = R"("model_type": "qwen3_moe", "hidden_size": 64,
      "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 4,
      "vocab_size": 100, "max_position_embeddings": 64, "num_experts": 4,
      "num_experts_per_tok": 2, "moe_intermediate_size": 32)";
  try {
    import("{" + base + R"(, "mlp_only_layers": [0, 2]})");
    ADD_FAILURE() << "mlp_only_layers was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/mlp_only_layers");
  }
  try {
    import("{" + base + R"(, "num_experts_per_tok": 5})");
    ADD_FAILURE() << "top-5 of 4 experts was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/num_experts_per_tok");
  }
  // Every second layer MoE: layers 1 and 3 of 4.
  const LlmSpec step2 = import("{" + base + R"(, "decoder_sparse_step": 2})");
  EXPECT_EQ(step2.moe.moe_layers(4), 2);
  EXPECT_FALSE(step2.moe.is_moe_layer(0));
  EXPECT_TRUE(step2.moe.is_moe_layer(1));
}

TEST(MoeCatalog, CatalogMoeObjectIsCheckedAndRoundTrips) {
  const LlmSpec s = catalog::llm("qwen3-235b-a22b");
  const Json j = to_json(s);
  const ConfigNode node(&j, "resolved", Json::json_pointer());
  const LlmSpec again = parse_llm_spec(node);
  EXPECT_EQ(again.parameters(), s.parameters());
  EXPECT_EQ(again.moe.experts_per_token, 8);
  Json bad = j;
  bad["moe"]["first_dense_layers"] = 94;  // no MoE layer left
  EXPECT_THROW(parse_llm_spec(ConfigNode(&bad, "bad", Json::json_pointer())), InputError);
}

}  // namespace kvsim
