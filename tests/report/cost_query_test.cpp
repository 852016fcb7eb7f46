// kvsim cost: each answer is what the library it goes through gives for the same arguments
// (the compute model's cost(op), net::collective_time), and a TP2 layer or pass is what the tp
// prefill strategy simulates.
#include "sim/report/cost_query.hpp"

#include <gtest/gtest.h>

#include "sim/prefill/stage_costs.hpp"
#include "sim/report/cost_explanation.hpp"

namespace kvsim::report {
namespace {

const std::string kRoot = KVSIM_SOURCE_DIR;

// Llama-2-7B on the calibrated A100 profile, an 8-GPU NVSwitch, a prefill of `context` tokens by
// `strategy` over `gpus` GPUs.
Scenario scenario(std::int64_t context, const std::string& strategy, int gpus) {
  return load_scenario(ConfigDocument::parse(
      R"({"name": "cost", "model": "llama-2-7b",
          "cluster": {"gpu": "a100-sxm4-80gb", "topology": {"type": "nvswitch", "gpus": 8}},
          "compute": {"type": "calibrated", "profile": "a100-sxm4-80gb"},
          "prefill": {"context_tokens": )" + std::to_string(context) + R"(, "gpus": )" +
          std::to_string(gpus) + R"(, "strategies": [{"type": ")" + strategy + R"("}]}})",
      "cost.json"));
}

TEST(CostQuery, GemmIsTheComputeModelsCostOfTheSameOperation) {
  const Scenario s = scenario(1024, "single", 1);
  for (const GemmQuery q : {GemmQuery{4096, 12288, 4096, DType::kFp16},
                            GemmQuery{7, 1536, 4096, DType::kFp16},
                            GemmQuery{100000, 4096, 11008, DType::kBf16}}) {
    const CostReport r = price_gemm(s, q);
    const Precision p{q.dtype, q.dtype, q.dtype};
    const Operation op = gemm(OpKind::kMlpUp, LayerStage::kPostAttention, q.m, q.n, q.k, p);
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.seconds, s.compute->cost(op).seconds) << q.m;
    EXPECT_EQ(r.lines[0].flops, 2.0 * static_cast<double>(q.m * q.n * q.k));  // 2 m n k
    EXPECT_EQ(r.lines[0].source, to_string(s.compute->cost(op).provenance));
    EXPECT_TRUE(r.warnings.empty());
  }
}

TEST(CostQuery, Fp8GemmOnAnA100IsPricedAsW8A16WithAWarning) {
  const Scenario s = scenario(1024, "single", 1);
  const CostReport r = price_gemm(s, GemmQuery{4096, 4096, 4096, DType::kFp8});
  // Weights in 8 bits, activations and math in 16: what precision_on_gpu resolves it to.
  const Operation op = gemm(OpKind::kMlpUp, LayerStage::kPostAttention, 4096, 4096, 4096,
                            Precision{DType::kFp8, DType::kFp16, DType::kFp8});
  EXPECT_EQ(r.seconds, s.compute->cost(op).seconds);
  ASSERT_EQ(r.warnings.size(), 1u);
}

TEST(CostQuery, CollectiveIsCollectiveTimeOfTheSameArguments) {
  const Scenario s = scenario(1024, "single", 1);
  for (const auto kind : {net::CollectiveKind::kAllReduce, net::CollectiveKind::kAllGather,
                          net::CollectiveKind::kAllToAll}) {
    const std::vector<int> gpus{0, 2, 4};
    const double bytes = 16.0 * 1024 * 1024;
    const CostReport r = price_collective(s, CollectiveQuery{kind, bytes, gpus});
    const net::Protocol& protocol =
        net::choose_protocol(*s.topology, gpus, kind, s.collectives, bytes);
    EXPECT_EQ(r.seconds, to_seconds(net::collective_time(*s.topology, gpus, kind,
                                                         s.collectives.algorithm, bytes,
                                                         protocol)));
  }
}

TEST(CostQuery, AttentionIsTheLayersAttentionOperation) {
  const Scenario s = scenario(1024, "single", 1);
  // Llama-2-7B's own widths (32 heads x 128): the attention of a 512-token chunk after 1024
  // cached tokens equals the attention op of the model's own prefill layer.
  const CostReport r = price_attention(s, AttentionQuery{512, 1024, 32, 32, 128, 1, false});
  DecomposeOptions o;
  o.precision = s.precision;
  double expected = 0;
  for (const Operation& op : prefill_layer(s.model, PrefillChunk{512, 1536, Mask::kCausal}, o)) {
    if (op.stage == LayerStage::kAttention) expected += s.compute->cost(op).seconds;
  }
  EXPECT_EQ(r.seconds, expected);
  // Three sequences of a prefill batch are three calls of the same kernel.
  const CostReport three = price_attention(s, AttentionQuery{512, 1024, 32, 32, 128, 3, false});
  EXPECT_EQ(three.lines[0].calls, 3);
  EXPECT_DOUBLE_EQ(three.seconds, 3 * expected);  // 3 calls x one sequence's time
}

// The tp strategy runs, per layer, block 1 (norm to output projection) and block 2 (the MLP),
// each followed by an all-reduce; with no other traffic its TTFT is
//   embedding + layers x (block1 + all-reduce + block2 + all-reduce) + head,
// each block rounded to the nanosecond. `cost pass` sums the blocks in double seconds and
// rounds once (as a serving replica does), so the two agree to within one nanosecond per
// rounded term: 2 per layer plus embedding and head.
TEST(CostQuery, Tp2PassIsTheTpStrategysTtft) {
  for (const std::int64_t context : {512, 4096}) {
    const Scenario s = scenario(context, "tp", 2);
    const prefill::PrefillResult tp = s.prefill->strategies[0]->run(s.prefill_setup(), false);
    const CostReport pass = price_pass(s, PassQuery{context, 0, 1, false, {0, 1}});
    const double slack_ns = 2.0 * static_cast<double>(s.model.layers) + 2;
    EXPECT_NEAR(pass.seconds * 1e9, static_cast<double>(tp.ttft.count()), slack_ns) << context;
  }
}

// The layer equals the tp strategy's per-layer stage sum as --explain-costs shows it (priced by
// prefill::price over the sharded layer's stages, as tp prices its blocks).
TEST(CostQuery, Tp2LayerIsTheTpStrategysPerLayerStageSum) {
  const Scenario s = scenario(2048, "tp", 2);
  const prefill::PrefillResult tp = s.prefill->strategies[0]->run(s.prefill_setup(), false);
  const CostExplanation e = explain_costs(s, {tp});
  const ProcessShard& gpu0 = e.strategies.at(0).processes.at(0);
  const CostReport layer = price_layer(s, PassQuery{2048, 0, 1, false, {0, 1}});
  const Duration stages = gpu0.qkv + gpu0.attention + gpu0.rest + gpu0.communication;
  // Three stage prices each rounded to the nanosecond against one sum of blocks: within 3 ns.
  EXPECT_NEAR(layer.seconds * 1e9, static_cast<double>(stages.count()), 3.0);
  EXPECT_EQ(gpu0.heads, 16);  // 32 heads over 2 GPUs
  EXPECT_EQ(gpu0.tensor_parallel, 2);
}

TEST(CostQuery, OneGpuPassIsTheSingleStrategysTtft) {
  const Scenario s = scenario(3000, "single", 1);
  const prefill::PrefillResult single = s.prefill->strategies[0]->run(s.prefill_setup(), false);
  const CostReport pass = price_pass(s, PassQuery{3000, 0, 1, false, {0}});
  // single rounds embedding, head and three stages per layer: within 3 x 32 + 2 ns.
  EXPECT_NEAR(pass.seconds * 1e9, static_cast<double>(single.ttft.count()), 98.0);
}

TEST(CostQuery, JsonCarriesEveryLineWithRates) {
  const Scenario s = scenario(1024, "single", 1);
  const Json j = cost_json(price_layer(s, PassQuery{1, 4095, 8, true, {0, 1, 2, 3}}));
  EXPECT_EQ(j.at("command"), "layer");
  ASSERT_FALSE(j.at("lines").empty());
  for (const Json& l : j.at("lines")) {
    for (const char* key : {"op", "shape", "calls", "flops", "bytes", "seconds",
                            "flop_per_second", "bytes_per_second", "source"}) {
      EXPECT_TRUE(l.contains(key)) << key;
    }
  }
  EXPECT_EQ(j.at("lines").back().at("op"), "all-reduce");  // TP 4 communicates
  EXPECT_GT(j.at("seconds").get<double>(), 0.0);
}

}  // namespace
}  // namespace kvsim::report
