// A MoE layer's operations in closed form (uniform load), the expert load draws, and the layer
// shares of a model with dense layers.
#include "models/llm/moe_operations.hpp"

#include <algorithm>
#include <numeric>

#include <gtest/gtest.h>

#include "models/compute/roofline.hpp"
#include "models/catalog/catalog.hpp"
#include "models/llm/expert_load.hpp"

namespace kvsim {
namespace {

// hidden 64, 4 heads of 16, 4 experts of width 32, 2 per token, 4 layers, fp16.
LlmSpec tiny_moe() {
  LlmSpec s;
  s.name = "tiny-moe";
  s.layers = 4;
  s.hidden_size = 64;
  s.heads = 4;
  s.kv_heads = 4;
  s.head_dim = 16;
  s.intermediate_size = 128;
  s.vocab_size = 100;
  s.max_context = 1024;
  s.moe.experts = 4;
  s.moe.experts_per_token = 2;
  s.moe.expert_intermediate = 32;
  return s;
}

const Operation& find(const std::vector<Operation>& ops, OpKind kind) {
  for (const auto& op : ops) {
    if (op.kind == kind) return op;
  }
  throw std::runtime_error("op not found: " + to_string(kind));
}

ExpertLoad draw(const std::string& text, std::int64_t experts, std::uint64_t seed) {
  const Json j = Json::parse(text);
  return expert_loads().create(ConfigNode(&j, "test", Json::json_pointer()), experts,
                               RandomStreams(seed));
}

}  // namespace

TEST(MoeOperations, UniformLoadLayerFlopsAndBytesInClosedForm) {
  const LlmSpec s = tiny_moe();
  const auto ops = prefill_layer(s, PrefillChunk{8, 8, Mask::kCausal}, DecomposeOptions{});
  // Router: 2 x 8 tokens x 4 experts x 64 = 4,096 FLOPs; weights 4 x 64 x 2 B = 512 B.
  const Operation& router = find(ops, OpKind::kRouter);
  EXPECT_DOUBLE_EQ(router.flops, 4096.0);
  EXPECT_DOUBLE_EQ(router.weight_bytes, 512.0);
  // 8 tokens x 2 copies = 16 rows over 4 experts (4 each, all active).
  // Up (gate and up): 2 x 16 x 64 x 64 = 131,072 FLOPs; reads 16 x 64 x 2 = 2,048 B of input
  // and 4 experts x 64 x 64 x 2 = 32,768 B of weights; writes 16 x 64 x 2 = 2,048 B.
  const Operation& up = find(ops, OpKind::kExpertUp);
  EXPECT_EQ(up.groups, 4);
  EXPECT_EQ(up.gemm.m, 16);
  EXPECT_DOUBLE_EQ(up.flops, 131072.0);
  EXPECT_DOUBLE_EQ(up.weight_bytes, 32768.0);
  EXPECT_DOUBLE_EQ(up.bytes_read, 2048.0 + 32768.0);
  EXPECT_DOUBLE_EQ(up.bytes_written, 2048.0);
  // SiLU-and-multiply: 6 x 16 x 32 = 3,072 FLOPs.
  EXPECT_DOUBLE_EQ(find(ops, OpKind::kExpertAct).flops, 3072.0);
  // Down: 2 x 16 x 32 x 64 = 65,536 FLOPs; weights 4 x 32 x 64 x 2 = 16,384 B.
  const Operation& down = find(ops, OpKind::kExpertDown);
  EXPECT_DOUBLE_EQ(down.flops, 65536.0);
  EXPECT_DOUBLE_EQ(down.weight_bytes, 16384.0);
  // No dense MLP in an all-MoE model.
  for (const Operation& op : ops) EXPECT_NE(op.kind, OpKind::kMlpUp);
}

TEST(MoeOperations, ExpertParallelRanksComputeOnlyTheirExperts) {
  const LlmSpec s = tiny_moe();
  DecomposeOptions o;
  o.expert_parallel = 4;  // one expert per GPU, tensor parallel 1 (tsp/ep's layout)
  const auto ops = routed_expert_ops(s, 8, o);
  // The busiest rank (all equal): 4 rows of one expert: 2 x 4 x 64 x 64 = 32,768 FLOPs,
  // weights 64 x 64 x 2 = 8,192 B.
  EXPECT_EQ(ops[0].groups, 1);
  EXPECT_DOUBLE_EQ(ops[0].flops, 32768.0);
  EXPECT_DOUBLE_EQ(ops[0].weight_bytes, 8192.0);
  // Tensor parallel 2 with EP 2: two whole experts per GPU, 8 rows; without EP, all four
  // experts at half width (16) on each GPU, 16 rows.
  o.tensor_parallel = 2;
  o.expert_parallel = 2;
  const Operation ep_up = routed_expert_ops(s, 8, o)[0];
  EXPECT_EQ(ep_up.gemm.m, 8);
  EXPECT_EQ(ep_up.gemm.n, 64);
  o.expert_parallel = 1;
  const Operation tp_up = routed_expert_ops(s, 8, o)[0];
  EXPECT_EQ(tp_up.gemm.m, 16);
  EXPECT_EQ(tp_up.gemm.n, 32);
  // Both do 65,536 FLOPs: EP moves whole experts, TP splits each; the total is the same.
  EXPECT_DOUBLE_EQ(ep_up.flops, tp_up.flops);
  o.expert_parallel = 3;  // does not divide the 4 experts
  EXPECT_THROW(routed_expert_ops(s, 8, o), InputError);
}

TEST(MoeOperations, DenseLayersAndMoeLayersCarryTheirShares) {
  LlmSpec s = tiny_moe();
  s.moe.first_dense_layers = 1;  // layer 0 dense, layers 1-3 MoE
  const auto ops = prefill_layer(s, PrefillChunk{8, 8, Mask::kCausal}, DecomposeOptions{});
  const Operation& dense_up = find(ops, OpKind::kMlpUp);
  // 2 x 8 x 256 x 64 = 262,144 FLOPs a call, in one of 4 layers: 65,536 per layer on average.
  EXPECT_DOUBLE_EQ(dense_up.layer_share, 0.25);
  EXPECT_DOUBLE_EQ(dense_up.flops, 262144.0);
  EXPECT_DOUBLE_EQ(total_flops(std::span(&dense_up, 1)), 65536.0);
  const Operation& up = find(ops, OpKind::kExpertUp);
  EXPECT_DOUBLE_EQ(up.layer_share, 0.75);
  EXPECT_DOUBLE_EQ(up.flops, 131072.0);
  // The roofline prices the full call and scales its time by the share.
  const RooflineModel roofline(catalog::gpu("a100-sxm4-80gb"), RooflineModel::Params{});
  Operation full = up;
  full.layer_share = 1.0;
  EXPECT_DOUBLE_EQ(roofline.cost(up).seconds, 0.75 * roofline.cost(full).seconds);
  // Parameters: the dense layer's MLP 3 x 64 x 128 = 24,576 replaces one MoE layer's
  // 256 (router) + 4 x 3 x 64 x 32 = 24,832.
  EXPECT_EQ(tiny_moe().parameters() - s.parameters(), 24832 - 24576);
}

TEST(ExpertLoad, TokensSumToTheRoutedCopiesAndNoExpertTakesATokenTwice) {
  for (const std::string cfg : {R"({"type": "uniform"})", R"({"type": "zipf", "skew": 2.0})",
                                R"({"type": "dirichlet", "concentration": 0.05})"}) {
    const ExpertLoad load = draw(cfg, 8, 7);
    const auto counts = expert_tokens(load.shares, 100, 2);
    EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), std::int64_t{0}), 200) << cfg;
    for (const std::int64_t c : counts) EXPECT_LE(c, 100) << cfg;
  }
  // Uniform: 100 x 2 / 8 = 25 each.
  const auto even = expert_tokens(draw(R"({"type": "uniform"})", 8, 1).shares, 100, 2);
  EXPECT_EQ(even, std::vector<std::int64_t>(8, 25));
  // One token's 2 copies over 8 even experts: the leftovers go in bit-reversed order (0, 4, 2,
  // 6, ...), so expert-parallel ranks of consecutive experts share them.
  const auto one = expert_tokens(draw(R"({"type": "uniform"})", 8, 1).shares, 1, 2);
  EXPECT_EQ(one, (std::vector<std::int64_t>{1, 0, 0, 0, 1, 0, 0, 0}));
  // Zipf with skew 0 is uniform too.
  EXPECT_EQ(expert_tokens(draw(R"({"type": "zipf", "skew": 0})", 8, 3).shares, 100, 2), even);
}

TEST(ExpertLoad, DrawsAreDeterministicPerSeedAndDifferAcrossSeeds) {
  const std::string zipf = R"({"type": "zipf", "skew": 1.2})";
  EXPECT_EQ(draw(zipf, 64, 5).shares, draw(zipf, 64, 5).shares);
  EXPECT_NE(draw(zipf, 64, 5).shares, draw(zipf, 64, 6).shares);
  const std::string dirichlet = R"({"type": "dirichlet", "concentration": 0.3})";
  EXPECT_EQ(draw(dirichlet, 64, 5).shares, draw(dirichlet, 64, 5).shares);
  EXPECT_NE(draw(dirichlet, 64, 5).shares, draw(dirichlet, 64, 6).shares);
}

TEST(ExpertLoad, SkewMakesAStragglerRank) {
  const LlmSpec s = catalog::llm("qwen3-235b-a22b");
  DecomposeOptions o;
  o.expert_parallel = 8;
  const ExpertRankLoad even = busiest_rank(s, 4096, o);
  // Uniform: 4096 x 8 / 128 = 256 rows per expert, 16 experts per rank: 4,096 rows.
  EXPECT_EQ(even.rows, 4096);
  EXPECT_EQ(even.active_experts, 16);
  o.expert_shares = std::make_shared<const std::vector<double>>(
      draw(R"({"type": "zipf", "skew": 1.0})", 128, 1).shares);
  EXPECT_GT(busiest_rank(s, 4096, o).rows, even.rows);
  // Skew 2: the hottest expert alone would take 8 x 4096 / zeta(2)-ish = 0.6 of the copies,
  // capped at one copy per token: 4,096 rows, on a rank with 15 other experts' rows besides.
  o.expert_shares = std::make_shared<const std::vector<double>>(
      draw(R"({"type": "zipf", "skew": 2.0})", 128, 1).shares);
  const std::vector<std::int64_t> counts =
      expert_tokens(*o.expert_shares, 4096, s.moe.experts_per_token);
  EXPECT_EQ(*std::max_element(counts.begin(), counts.end()), 4096);
  EXPECT_GT(busiest_rank(s, 4096, o).rows, even.rows);
}

TEST(ExpertLoad, BadParametersAreRefusedByKey) {
  EXPECT_THROW(draw(R"({"type": "zipf", "skew": -1})", 8, 1), InputError);
  EXPECT_THROW(draw(R"({"type": "dirichlet", "concentration": 0})", 8, 1), InputError);
  EXPECT_THROW(draw(R"({"type": "zipfian"})", 8, 1), InputError);
  EXPECT_THROW(draw(R"({"type": "uniform", "skew": 1})", 8, 1), InputError);
}

}  // namespace kvsim
