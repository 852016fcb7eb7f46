// Mixture-of-experts models in the prefill strategies: TSP with expert parallelism in closed
// form (free and finite networks), TP with expert parallelism, the memory each GPU holds, and
// KV-Runahead's refusal of expert parallelism by name.
#include <gtest/gtest.h>

#include "models/llm/moe_operations.hpp"
#include "prefill/fixture.hpp"
#include "sim/prefill/builtin.hpp"
#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/impl/synchronous.hpp"
#include "sim/prefill/layer_plan.hpp"
#include "sim/prefill/stage_costs.hpp"

namespace kvsim::prefill {
namespace {

// The slowest rank's routed experts over its group's tokens (groups of `ep` of the GPUs, each
// with every expert; all C tokens when ep is every GPU): every rank waits for it at the combine.
Duration slowest_experts(const PrefillSetup& setup, std::int64_t ep = 0) {
  const auto p = static_cast<std::int64_t>(setup.gpus.size());
  DecomposeOptions o = setup.options;
  o.expert_parallel = ep == 0 ? p : ep;
  const std::int64_t group_tokens = setup.context_tokens / (p / o.expert_parallel);
  Duration slowest{0};
  for (int r = 0; r < static_cast<int>(o.expert_parallel); ++r) {
    slowest = std::max(slowest, price(setup, routed_expert_ops(*setup.model, group_tokens, o, r)));
  }
  return slowest;
}

}  // namespace

TEST(MoePrefill, TspWithExpertParallelismIsLayersTimesThreeBlocksOnAFreeNetwork) {
  const int p = 8;
  testing::Fixture f("mixtral-8x7b", testing::ideal_network(p), 4096);
  // Per layer: QKV of C/p tokens, (all-gather), attention and the rest of the layer without the
  // routed experts, (dispatch), the slowest rank's experts over every rank's tokens routed to
  // it, (combine); the collectives are free here.
  const StageCosts c = stage_costs(f.setup, 4096 / p, 4096, Mask::kDense);
  const Duration layer = c.qkv + (c.attention + c.rest - c.routed_experts) +
                         slowest_experts(f.setup);
  EXPECT_EQ(TspStrategy(false, 1, true).run(f.setup, false).ttft,
            c.embedding + f.model.layers * layer + c.head);
  // Uniform load: one expert per GPU with 4096 x 2 / 8 = 1,024 rows, where without expert
  // parallelism each GPU runs its 512 tokens' 1,024 rows over all 8 experts' weights.
  EXPECT_LT(slowest_experts(f.setup), c.routed_experts);
}

TEST(MoePrefill, TspWithExpertParallelismAddsTwoAllToAllsPerLayer) {
  const int p = 4;
  testing::Fixture f("mixtral-8x7b",
                     net::testing::full_mesh(p, 300e9, std::chrono::microseconds(2)), 4096);
  const StageCosts c = stage_costs(f.setup, 1024, 4096, Mask::kDense);
  const double kv = 4096.0 * f.model.kv_bytes_per_token_layer(DType::kFp16);
  const auto time = [&](net::CollectiveKind kind, double bytes) {
    return net::collective_time(*f.topology, f.setup.gpus, kind, net::CollectiveAlgorithm::kRing,
                                bytes, net::Protocol{});
  };
  // Each rank's send buffer: 1,024 tokens x 2 copies x 4096 x 2 bytes = 16 MiB; pairwise over
  // the full mesh: 3 x (2 us + ceil(4 MiB / 300 GB/s) = 13,982 ns).
  const double a2a_bytes = 1024.0 * 2 * 4096 * 2;
  EXPECT_EQ(time(net::CollectiveKind::kAllToAll, a2a_bytes), Duration(3 * (2000 + 13982)));
  const Duration layer = c.qkv + time(net::CollectiveKind::kAllGather, kv) +
                         (c.attention + c.rest - c.routed_experts) +
                         2 * time(net::CollectiveKind::kAllToAll, a2a_bytes) +
                         slowest_experts(f.setup);
  const PrefillResult r = TspStrategy(false, 1, true).run(f.setup, false);
  EXPECT_EQ(r.ttft, c.embedding + f.model.layers * layer + c.head);
  EXPECT_EQ(r.label, "tsp/ep");
}

TEST(MoePrefill, TpWithExpertParallelismRunsWholeExpertsPerGpu) {
  const int p = 4;
  testing::Fixture f("mixtral-8x7b", testing::ideal_network(p), 4096);
  DecomposeOptions o;
  o.tensor_parallel = p;
  o.expert_parallel = p;
  const Duration expected = testing::tp_closed_form(f, o, 4096);
  EXPECT_EQ(TpStrategy(false, true).run(f.setup, false).ttft, expected);
  // Two whole experts per GPU, 4096 x 2 / 8 x 2 = 2,048 rows of width 14336 (the fourth
  // operation from the layer's end, in its MLP block).
  const auto ops = prefill_layer(f.model, PrefillChunk{4096, 4096, Mask::kCausal}, o);
  const Operation& up = ops[ops.size() - 4];
  EXPECT_EQ(up.kind, OpKind::kExpertUp);
  EXPECT_EQ(up.gemm.m, 2048);
  EXPECT_EQ(up.gemm.n, 2 * 14336);
}

TEST(MoePrefill, EachGpuHoldsOnlyTheExpertsItRuns) {
  const int p = 8;
  testing::Fixture f("mixtral-8x7b", testing::ideal_network(p), 1024);
  const LlmSpec& m = f.model;
  const double tsp = TspStrategy(false).memory_plan(f.setup).gpus[0].weights;
  const double tsp_ep = TspStrategy(false, 1, true).memory_plan(f.setup).gpus[0].weights;
  EXPECT_DOUBLE_EQ(tsp, m.weight_bytes(DType::kFp16));
  // The rest of the model whole + an eighth of the routed experts.
  EXPECT_DOUBLE_EQ(tsp_ep, m.weight_bytes_per_gpu(DType::kFp16, 1, 8));
  EXPECT_DOUBLE_EQ(tsp_ep, (static_cast<double>(m.parameters() -
                                                m.routed_expert_parameters_total()) +
                            static_cast<double>(m.routed_expert_parameters_total()) / 8) *
                               2);
  EXPECT_DOUBLE_EQ(TpStrategy(false, true).memory_plan(f.setup).gpus[0].weights,
                   m.weight_bytes(DType::kFp16) / 8);
}

TEST(MoePrefill, UnmodelledExpertParallelLayoutsAreRefusedByName) {
  const Json kvr = Json::parse(R"({"type": "kvr", "expert_parallel": true})");
  try {
    (void)strategies().create(ConfigNode(&kvr, "scenario", Json::json_pointer("/s")));
    ADD_FAILURE() << "kvr took expert_parallel";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/s/expert_parallel");
    EXPECT_NE(e.message().find("kvr with expert parallelism is not modelled"), std::string::npos)
        << e.what();
  }
  const LlmSpec dense = catalog::llm("llama-2-7b");
  EXPECT_NE(TpStrategy(false, true).unsupported(dense, 4).find("dense"), std::string::npos);
  const LlmSpec mixtral = catalog::llm("mixtral-8x7b");
  EXPECT_NE(TspStrategy(false, 1, true).unsupported(mixtral, 3).find("do not divide"),
            std::string::npos);
  EXPECT_EQ(TspStrategy(false, 1, true).unsupported(mixtral, 4), "");
}

TEST(MoePrefill, TpWithAnExpertParallelDegreeBelowTheGpusShardsEachExpertOverItsGroup) {
  // TP 8 with EP 4 (expert-TP 2): four ranks of two GPUs, each rank holding two of Mixtral's
  // eight experts, each expert's width 14336 split in half over the rank's two GPUs.
  const int p = 8;
  testing::Fixture f("mixtral-8x7b", testing::ideal_network(p), 4096);
  DecomposeOptions o;
  o.tensor_parallel = p;
  o.expert_parallel = 4;
  const TpStrategy ep4(false, ExpertParallel::of(4));
  const PrefillResult r = ep4.run(f.setup, false);
  EXPECT_EQ(r.ttft, testing::tp_closed_form(f, o, 4096));
  EXPECT_EQ(r.label, "tp/ep4");
  // Uniform load: 4096 x 2 / 8 = 1,024 rows per expert, 2 experts per rank: 2,048 rows against
  // 2 x 7,168 gate+up columns; the group's weights are 2 experts x 14,336 x 4,096 x 2 bytes.
  const auto ops = prefill_layer(f.model, PrefillChunk{4096, 4096, Mask::kCausal}, o);
  const Operation& up = ops[ops.size() - 4];
  EXPECT_EQ(up.kind, OpKind::kExpertUp);
  EXPECT_EQ(up.gemm.m, 2048);
  EXPECT_EQ(up.gemm.n, 2 * 7168);
  EXPECT_EQ(up.groups, 2);
  EXPECT_DOUBLE_EQ(up.weight_bytes, 2.0 * 14336 * 4096 * 2);
  // Memory: 1/8 of the routed weights per GPU (2 experts of 8, half of each), as TP's.
  EXPECT_DOUBLE_EQ(ep4.memory_plan(f.setup).gpus[0].weights, f.model.weight_bytes(DType::kFp16) / 8);
  EXPECT_EQ(ep4.expert_parallel(p), 4);
  EXPECT_EQ(ep4.to_json()["expert_parallel"], 4);
}

TEST(MoePrefill, TspWithAnExpertParallelDegreeBelowTheGpusRunsAllToAllsInsideEachGroup) {
  // EP 4 on 8 GPUs: two groups of four consecutive GPUs, each holding every expert once (two
  // per GPU); a group's tokens are its four ranks' 4 x 512 = 2,048.
  const int p = 8;
  testing::Fixture f("mixtral-8x7b",
                     net::testing::full_mesh(p, 300e9, std::chrono::microseconds(2)), 4096);
  const StageCosts c = stage_costs(f.setup, 512, 4096, Mask::kDense);
  const double kv = 4096.0 * f.model.kv_bytes_per_token_layer(DType::kFp16);
  const std::vector<int> group{0, 1, 2, 3};
  const auto time = [&](net::CollectiveKind kind, const std::vector<int>& gpus, double bytes) {
    return net::collective_time(*f.topology, gpus, kind, net::CollectiveAlgorithm::kRing, bytes,
                                net::Protocol{});
  };
  // Each rank's send buffer: 512 tokens x 2 copies x 4096 x 2 bytes = 8 MiB, pairwise inside
  // its group of 4: 3 x (2 us + ceil(2 MiB / 300 GB/s) = 6,991 ns); both groups at once on
  // their own links of the mesh.
  const double a2a_bytes = 512.0 * 2 * 4096 * 2;
  EXPECT_EQ(time(net::CollectiveKind::kAllToAll, group, a2a_bytes), Duration(3 * (2000 + 6991)));
  const Duration layer = c.qkv + time(net::CollectiveKind::kAllGather, f.setup.gpus, kv) +
                         (c.attention + c.rest - c.routed_experts) +
                         2 * time(net::CollectiveKind::kAllToAll, group, a2a_bytes) +
                         slowest_experts(f.setup, 4);
  const TspStrategy ep4(false, 1, ExpertParallel::of(4));
  const PrefillResult r = ep4.run(f.setup, false);
  EXPECT_EQ(r.ttft, c.embedding + f.model.layers * layer + c.head);
  EXPECT_EQ(r.label, "tsp/ep4");
  // Memory: the rest of the model whole + a quarter of the routed experts.
  const LlmSpec& m = f.model;
  const double routed = static_cast<double>(m.routed_expert_parameters_total());
  EXPECT_DOUBLE_EQ(ep4.memory_plan(f.setup).gpus[5].weights,
                   (static_cast<double>(m.parameters()) - routed + routed / 4) * 2);
}

TEST(MoePrefill, ExpertParallelDegreesThatDoNotDivideTheGpusOrExpertsAreRefused) {
  const LlmSpec mixtral = catalog::llm("mixtral-8x7b");
  EXPECT_NE(TpStrategy(false, ExpertParallel::of(3)).unsupported(mixtral, 8)
                .find("expert_parallel 3 must divide the 8 GPUs"),
            std::string::npos);
  EXPECT_NE(TspStrategy(false, 1, ExpertParallel::of(16)).unsupported(mixtral, 16)
                .find("over 16 GPUs, which do not divide them"),
            std::string::npos);
  EXPECT_EQ(TspStrategy(false, 1, ExpertParallel::of(8)).unsupported(mixtral, 16), "");
  const Json zero = Json::parse(R"({"type": "tp", "expert_parallel": 0})");
  try {
    (void)strategies().create(ConfigNode(&zero, "scenario", Json::json_pointer("/s")));
    ADD_FAILURE() << "tp took expert_parallel 0";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/s/expert_parallel");
  }
}

TEST(MoePrefill, KvRunaheadPricesDenseAndMoeLayersEachAsTheirOwn) {
  // Mixtral with its first 4 of 32 layers dense (DeepSeek's first_dense_layers): KV-Runahead's
  // layer-by-layer pipeline runs a dense layer's rest (MLP of width 14336) in layers 0-3 and a
  // MoE layer's (router, experts) in 4-31, not one averaged layer; the kinds sum to the average.
  testing::Fixture f("mixtral-8x7b", testing::ideal_network(2), 2048);
  f.model.moe.first_dense_layers = 4;
  const StageCosts c = stage_costs(f.setup, 2048, 2048, Mask::kCausal);
  ASSERT_TRUE(c.mixed);
  EXPECT_NE(c.rest_dense, c.rest_moe);
  EXPECT_EQ(c.rest_of(f.model, 3), c.rest_dense);
  EXPECT_EQ(c.rest_of(f.model, 4), c.rest_moe);
  // layers x average = 4 dense + 28 MoE, up to rounding each stage to the nanosecond.
  const Duration kinds = 4 * c.rest_dense + 28 * c.rest_moe;
  EXPECT_LE(std::chrono::abs(kinds - 32 * c.rest), Duration(32));
  // One process: embedding + sum over layers of (qkv + attention + that layer's rest) + head.
  PrefillSetup alone = f.setup;
  alone.gpus.resize(1);
  const PrefillResult one = simulate_kvr(alone, Partition{2048}, KvrOptions{}, true);
  EXPECT_EQ(one.ttft, c.embedding + 32 * (c.qkv + c.attention) + kinds + c.head);
  // The trace's rest slices show the two kinds.
  int dense_slices = 0;
  int moe_slices = 0;
  for (const TraceSlice& t : one.trace) {
    if (t.name.find(" rest") == std::string::npos) continue;
    dense_slices += (t.end - t.start) == c.rest_dense ? 1 : 0;
    moe_slices += (t.end - t.start) == c.rest_moe ? 1 : 0;
  }
  EXPECT_EQ(dense_slices, 4);
  EXPECT_EQ(moe_slices, 28);
  // Two processes: the closed-form recurrence sees the same kinds as the event-driven run.
  const Partition two{1200, 848};
  EXPECT_EQ(kvr_closed_form_ttft(f.setup, two, true),
            simulate_kvr(f.setup, two, KvrOptions{}, false).ttft);
  // A model of one kind keeps its one averaged layer.
  f.model.moe.first_dense_layers = 0;
  EXPECT_FALSE(stage_costs(f.setup, 2048, 2048, Mask::kCausal).mixed);
}

namespace {

// tp's two blocks of a layer of `kind` (split after the output projection), priced.
std::pair<Duration, Duration> tp_blocks(const PrefillSetup& setup, const LlmSpec& kind,
                                        const DecomposeOptions& o, std::int64_t tokens) {
  std::vector<Operation> first;
  std::vector<Operation> second;
  bool split = false;
  for (const Operation& op : prefill_layer(kind, PrefillChunk{tokens, tokens, Mask::kCausal}, o)) {
    (split ? second : first).push_back(op);
    if (op.kind == OpKind::kOutProj) split = true;
  }
  return {price(setup, first), price(setup, second)};
}

// Every slice of the trace named `name` (one per GPU) lasts `d`; false if there is none.
bool slices_last(const PrefillResult& r, const std::string& name, Duration d) {
  int found = 0;
  for (const TraceSlice& t : r.trace) {
    if (t.name != name) continue;
    ++found;
    if (t.end - t.start != d) return false;
  }
  return found > 0;
}

}  // namespace

TEST(MoePrefill, TpAndTspPriceDenseAndMoeLayersEachAsTheirOwn) {
  // Mixtral with its first 4 of 32 layers dense, 2,048 tokens on 4 GPUs of a free network:
  // tp's MLP block and tsp's rest are a dense layer's in layers 0-3 and a MoE layer's (router,
  // experts) in 4-31, as the trace shows; TTFT sums each layer's own kind.
  const int p = 4;
  testing::Fixture f("mixtral-8x7b", testing::ideal_network(p), 2048);
  f.model.moe.first_dense_layers = 4;
  const LayerPlan plan = layer_plan(f.model);
  ASSERT_EQ(plan.kinds.size(), 2u);
  EXPECT_EQ(plan.of_layer[3], 0);
  EXPECT_EQ(plan.of_layer[4], 1);
  DecomposeOptions o = f.setup.options;
  o.tensor_parallel = p;
  const auto [attention_dense, mlp_dense] = tp_blocks(f.setup, plan.kinds[0], o, 2048);
  const auto [attention_moe, mlp_moe] = tp_blocks(f.setup, plan.kinds[1], o, 2048);
  EXPECT_EQ(attention_dense, attention_moe);
  EXPECT_NE(mlp_dense, mlp_moe);
  const auto ends = model_ends(f.model, 2048, 1, o);
  const Duration emb = price(f.setup, std::span(ends).subspan(0, 1));
  const Duration head = price(f.setup, std::span(ends).subspan(1));
  const PrefillResult tp = TpStrategy(false).run(f.setup, true);
  // embedding + 4 x (attention + dense MLP) + 28 x (attention + MoE MLP) + head
  EXPECT_EQ(tp.ttft, emb + 4 * (attention_dense + mlp_dense) + 28 * (attention_moe + mlp_moe) +
                         head);
  EXPECT_TRUE(slices_last(tp, "L3 mlp", mlp_dense));
  EXPECT_TRUE(slices_last(tp, "L4 mlp", mlp_moe));
  // The kinds sum to the averaged layer's 32 times, up to rounding each block to the ns.
  EXPECT_LE(std::chrono::abs(tp.ttft - testing::tp_closed_form(f, o, 2048)), Duration(64));

  // tsp/ep (dense mask: every rank's 512 queries see all 2,048 keys, so the ranks are equal):
  // a dense layer is qkv + attention + its rest; a MoE layer moves its routed experts after
  // the dispatch, to the slowest rank's over every rank's tokens.
  PrefillSetup dense = f.setup;
  dense.model = &plan.kinds[0];
  PrefillSetup moe = f.setup;
  moe.model = &plan.kinds[1];
  const StageCosts cd = stage_costs(dense, 512, 2048, Mask::kDense);
  const StageCosts cm = stage_costs(moe, 512, 2048, Mask::kDense);
  const Duration moe_rest = cm.attention + cm.rest - cm.routed_experts;
  const PrefillResult tsp = TspStrategy(false, 1, true).run(f.setup, true);
  EXPECT_EQ(tsp.ttft, cd.embedding + 4 * (cd.qkv + cd.attention + cd.rest) +
                          28 * (cm.qkv + moe_rest + slowest_experts(moe)) + cd.head);
  EXPECT_TRUE(slices_last(tsp, "L3 attention+rest", cd.attention + cd.rest));
  EXPECT_TRUE(slices_last(tsp, "L4 attention+rest", moe_rest));
}

TEST(MoePrefill, TpPricesWindowedAndGlobalLayersEachAsTheirOwn) {
  // Gemma-2-9B alternates windowed (4,096 tokens) and global layers: at 8,192 tokens tp's
  // attention block of an even layer (windowed) is cheaper than an odd one's (global).
  testing::Fixture f("gemma-2-9b", testing::ideal_network(2), 8192);
  const LayerPlan plan = layer_plan(f.model);
  ASSERT_EQ(plan.kinds.size(), 2u);
  EXPECT_TRUE(windowed_layer(f.model, 0));
  EXPECT_FALSE(windowed_layer(f.model, 1));
  DecomposeOptions o = f.setup.options;
  o.tensor_parallel = 2;
  const auto [windowed, mlp_w] = tp_blocks(f.setup, plan.kinds[plan.of_layer[0]], o, 8192);
  const auto [global, mlp_g] = tp_blocks(f.setup, plan.kinds[plan.of_layer[1]], o, 8192);
  EXPECT_LT(windowed, global);
  EXPECT_EQ(mlp_w, mlp_g);
  const PrefillResult tp = TpStrategy(false).run(f.setup, true);
  EXPECT_TRUE(slices_last(tp, "L0 attention", windowed));
  EXPECT_TRUE(slices_last(tp, "L1 attention", global));
  EXPECT_LE(std::chrono::abs(tp.ttft - testing::tp_closed_form(f, o, 8192)), Duration(100));
}

}  // namespace kvsim::prefill
