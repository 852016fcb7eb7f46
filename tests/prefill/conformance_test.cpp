// One suite over every registered prefill strategy: a strategy is tested the moment it is
// registered.
#include <gtest/gtest.h>

#include "prefill/fixture.hpp"
#include "sim/network/topologies.hpp"
#include "sim/prefill/builtin.hpp"

namespace kvsim::prefill {
namespace {

class EveryStrategy : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<PrefillStrategy> make() const {
    const Json j{{"type", GetParam()}};
    return strategies().create(ConfigNode(&j, "test", Json::json_pointer()));
  }
  static testing::Fixture fixture() {
    const Json t{{"type", "nvswitch"}, {"gpus", 4}};
    return testing::Fixture("llama-2-7b",
                            net::topologies().create(ConfigNode(&t, "test", Json::json_pointer()),
                                                     catalog::gpu("a100-sxm4-80gb")),
                            4096);
  }
};

TEST_P(EveryStrategy, TimesAddUpAndTheCriticalPathFitsTtft) {
  const testing::Fixture f = fixture();
  const PrefillResult r = make()->run(f.setup, false);
  EXPECT_GT(r.ttft.count(), 0);
  EXPECT_EQ(r.critical_compute + r.critical_communication, r.ttft);
  EXPECT_GE(r.critical_compute.count(), 0);
  for (const GpuTime& g : r.gpus) {
    if (g.busy.count() == 0) continue;  // single uses one GPU of the four
    EXPECT_LE(g.busy + g.waiting, r.ttft);
    EXPECT_EQ(g.busy + g.waiting + g.idle, r.ttft);
  }
}

TEST_P(EveryStrategy, IsDeterministic) {
  const testing::Fixture f = fixture();
  const auto strategy = make();
  const PrefillResult a = strategy->run(f.setup, false);
  const PrefillResult b = strategy->run(f.setup, false);
  EXPECT_EQ(a.ttft, b.ttft);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.link_bytes, b.link_bytes);
}

TEST_P(EveryStrategy, NeverBeatsTheComputeFloorOfItsShare) {
  // No strategy can finish before 1/p of the single-GPU FLOPs at peak.
  const testing::Fixture f = fixture();
  const auto layer = prefill_layer(f.model, PrefillChunk{4096, 4096, Mask::kCausal}, {});
  const double floor = 32 * total_flops(layer) / 312e12 / 4;
  EXPECT_GE(to_seconds(make()->run(f.setup, false).ttft), floor);
}

TEST_P(EveryStrategy, PlansMemoryForEveryGpuItUsesAndAgreesWithItsRun) {
  const testing::Fixture f = fixture();
  const auto strategy = make();
  const MemoryPlan plan = strategy->memory_plan(f.setup);
  const MemoryPlan ran = strategy->memory_of_run(f.setup, strategy->run(f.setup, false));
  EXPECT_EQ(plan.gpus.size(), GetParam() == "single" ? 1u : 4u);
  ASSERT_EQ(ran.gpus.size(), plan.gpus.size());
  for (std::size_t i = 0; i < plan.gpus.size(); ++i) {
    EXPECT_EQ(plan.gpus[i].gpu, f.setup.gpus[i]);
    EXPECT_GT(plan.gpus[i].weights, 0);
    EXPECT_GT(plan.gpus[i].kv_cache, 0);
    EXPECT_GT(plan.gpus[i].activations, 0);
    // Fused attention never materialises the score matrix.
    EXPECT_EQ(plan.gpus[i].scores, 0);
    // Every built-in default partition is known before the run (kvr's default is even).
    EXPECT_EQ(ran.gpus[i].total(), plan.gpus[i].total());
  }
  EXPECT_FALSE(plan.lower_bound);
}

INSTANTIATE_TEST_SUITE_P(Registered, EveryStrategy,
                         ::testing::ValuesIn(strategies().names()),
                         [](const auto& case_info) { return case_info.param; });

// Llama-2-7B, fp16, C = 4096 on 4 GPUs. K and V per token: 2 x 32 layers x 32 KV heads x 128 x
// 2 B = 512 KiB, so the whole cache is 4096 x 512 KiB = 2 GiB.
constexpr double kKvPerToken = 2.0 * 32 * 32 * 128 * 2;
constexpr double kWholeCache = 4096 * kKvPerToken;

TEST(MemoryPlan, EachStrategyHoldsItsShareOfWeightsKvAndActivations) {
  const testing::Fixture f("llama-2-7b", testing::ideal_network(4), 4096);
  const double weights = f.model.weight_bytes(DType::kFp16);
  const double act = f.model.activation_bytes_per_token(DType::kFp16);  // per token
  const auto plan = [&](const Json& j) {
    return strategies().create(ConfigNode(&j, "test", Json::json_pointer()))->memory_plan(f.setup);
  };
  // single: everything on GPU 0.
  const GpuMemory single = plan(Json{{"type", "single"}}).gpus.at(0);
  EXPECT_DOUBLE_EQ(single.weights, weights);
  EXPECT_DOUBLE_EQ(single.kv_cache, kWholeCache);
  EXPECT_DOUBLE_EQ(single.activations, 4096 * act);
  // tsp: whole weights, the all-gathered cache, activations of C/p = 1024 tokens.
  for (const GpuMemory& g : plan(Json{{"type", "tsp"}}).gpus) {
    EXPECT_DOUBLE_EQ(g.weights, weights);
    EXPECT_DOUBLE_EQ(g.kv_cache, kWholeCache);
    EXPECT_DOUBLE_EQ(g.activations, 1024 * act);
  }
  // tp: a quarter of the weights and of the KV heads; all 4096 tokens, the residual stream and
  // its norm (2 x 4096 hidden x 2 B per token) replicated, the rest sharded.
  const double replicated = 2.0 * 4096 * 2;
  for (const GpuMemory& g : plan(Json{{"type", "tp"}}).gpus) {
    EXPECT_DOUBLE_EQ(g.weights, weights / 4);
    EXPECT_DOUBLE_EQ(g.kv_cache, kWholeCache / 4);
    EXPECT_DOUBLE_EQ(g.activations, 4096 * (replicated + (act - replicated) / 4));
  }
  // kvr/even: process i holds S_i = (i + 1) x 1024 tokens' K and V; the last holds them all.
  const MemoryPlan kvr = plan(Json{{"type", "kvr"}});
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_DOUBLE_EQ(kvr.gpus[i].weights, weights);
    EXPECT_DOUBLE_EQ(kvr.gpus[i].kv_cache, static_cast<double>(i + 1) * 1024 * kKvPerToken);
    EXPECT_DOUBLE_EQ(kvr.gpus[i].activations, 1024 * act);
  }
  EXPECT_EQ(kvr.peak().gpu, 3);
}

TEST(MemoryPlan, EagerAttentionAddsTheScoreMatrix) {
  testing::Fixture f("llama-2-7b", testing::ideal_network(4), 4096);
  f.setup.options.attention = AttentionImpl::kEager;
  const Json j{{"type", "kvr"}};
  const MemoryPlan kvr =
      strategies().create(ConfigNode(&j, "test", Json::json_pointer()))->memory_plan(f.setup);
  // Process i: c_i x S_i x 32 heads x 2 B = 1024 x (i + 1) x 1024 x 64 B = (i + 1) x 64 MiB.
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_DOUBLE_EQ(kvr.gpus[i].scores, static_cast<double>(i + 1) * 64 * 1024 * 1024);
    EXPECT_DOUBLE_EQ(kvr.gpus[i].activations,
                     1024 * f.model.activation_bytes_per_token(DType::kFp16) + kvr.gpus[i].scores);
  }
}

TEST(MemoryPlan, ASearchedPartitionIsPlannedAsTheLeastAnySplitNeeds) {
  const testing::Fixture f("llama-2-7b", testing::ideal_network(4), 4096);
  const Json j{{"type", "kvr"}, {"partitioner", {{"type", "search"}}}};
  const MemoryPlan plan =
      strategies().create(ConfigNode(&j, "test", Json::json_pointer()))->memory_plan(f.setup);
  EXPECT_TRUE(plan.lower_bound);
  // The last process holds the whole cache whatever the split, and computes at least a token.
  EXPECT_DOUBLE_EQ(plan.peak().kv_cache, kWholeCache);
  EXPECT_EQ(plan.peak().gpu, 3);
}

TEST(MemoryPlan, OverflowNamesTheGpuEachComponentAndARemedy) {
  MemoryPlan plan;
  const double gib = 1024.0 * 1024 * 1024;
  plan.gpus = {GpuMemory{0, 10 * gib, 1 * gib, 1 * gib, 0},
               GpuMemory{3, 10 * gib, 60 * gib, 2 * gib, 0}};
  // 80 GiB x 0.9 = 72 GiB usable; GPU 3 needs 72 GiB + 0 = 72 GiB: fits exactly.
  EXPECT_EQ(memory_overflow(plan, MemoryCapacity{"a100", 80 * gib, 0.9}), "");
  plan.gpus[1].activations = 3 * gib;  // 73 GiB > 72 GiB
  const std::string why = memory_overflow(plan, MemoryCapacity{"a100", 80 * gib, 0.9});
  EXPECT_NE(why.find("needs 73.0 GiB on GPU 3 (weights 10.0 GiB + KV cache 60.0 GiB + "
                     "activations 3.0 GiB)"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("72.0 GiB usable per GPU (80.0 GiB of a100 x memory_utilization 0.9"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("fewer context tokens, more GPUs"), std::string::npos) << why;
  // Weights over the capacity: 200 GiB / 72 GiB -> shard over at least 3 GPUs.
  plan.gpus[0].weights = 200 * gib;
  EXPECT_NE(memory_overflow(plan, MemoryCapacity{"a100", 80 * gib, 0.9})
                .find("over at least 3 GPUs"),
            std::string::npos);
}

}  // namespace
}  // namespace kvsim::prefill
