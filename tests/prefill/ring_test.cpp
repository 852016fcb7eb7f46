// Ring attention (context parallelism) and the two-level TP x sequence layouts: the closed forms
// of issue 22 (per-step pass-KV TTFT, equal causal work under load-balanced sharding), the
// variant rule, the lanes of a two-level KV-Runahead, and refusals of impossible layouts.
#include <gtest/gtest.h>

#include "prefill/fixture.hpp"
#include "sim/network/topologies.hpp"
#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/impl/ring.hpp"
#include "sim/prefill/impl/synchronous.hpp"
#include "sim/prefill/stage_costs.hpp"
#include "sim/prefill/two_level.hpp"

namespace kvsim::prefill {
namespace {

net::Topology preset(const Json& j) {
  return net::topologies().create(ConfigNode(&j, "test", Json::json_pointer()),
                                  catalog::gpu("a100-sxm4-80gb"));
}

net::Topology mesh(int gpus, const char* bandwidth) {
  return preset(Json{{"type", "fully-connected"},
                     {"gpus", gpus},
                     {"link", {{"bandwidth", bandwidth}, {"latency", "2us"}}}});
}

}  // namespace

TEST(RingSharding, LoadBalancedGivesEveryRankEqualCausalWork) {
  // 4 ranks, 8192 tokens: 8 chunks of c = 1024; rank r owns chunks r and 7 - r. Chunk i sees
  // i full chunks and its own diagonal: i c^2 + c (c + 1) / 2 pairs, so each rank computes
  // (r + 7 - r) c^2 + c (c + 1) = 7 x 1048576 + 1024 x 1025 = 8389632 pairs, and the four
  // together the whole causal triangle 8192 x 8193 / 2 = 33558528.
  const RingShards s = ring_shards(8192, 0, 4, RingSharding::kLoadBalanced);
  for (int r = 0; r < 4; ++r) EXPECT_EQ(ring_query_key_pairs(s, r), 8389632) << "rank " << r;
  EXPECT_EQ(s.last_token_rank(), 0);  // chunk 7 belongs to rank 0
}

TEST(RingSharding, ContiguousLeavesTheLastRankTheMostWork) {
  // 4 chunks of c = 2048: rank r computes r c^2 + c (c + 1) / 2 = r x 4194304 + 2098176 pairs.
  const RingShards s = ring_shards(8192, 0, 4, RingSharding::kContiguous);
  for (int r = 0; r < 4; ++r) EXPECT_EQ(ring_query_key_pairs(s, r), r * 4194304 + 2098176);
  EXPECT_EQ(s.last_token_rank(), 3);
}

TEST(RingSharding, CachedPrefixIsSeenDenselyByEveryNewQuery) {
  // 1000 cached tokens over 2 ranks (500 each) before 400 new ones (4 chunks of 100): rank 0
  // (chunks 0 and 3) adds 200 queries x 1000 cached keys = 200000 pairs to its causal
  // 3 x 100^2 + 100 x 101 = 40100.
  const RingShards s = ring_shards(400, 1000, 2, RingSharding::kLoadBalanced);
  EXPECT_EQ(s.kv_tokens(0), 700);
  EXPECT_EQ(ring_query_key_pairs(s, 0), 240100);
  EXPECT_EQ(ring_query_key_pairs(s, 1), 240100);
}

TEST(Ring, PassKvTtftIsTheSumOverStepsOfMaxAttentionAndTransfer) {
  // 4 ranks on a full mesh (every ring hop its own link, nothing competing), 16384 tokens in 8
  // chunks of c = 2048, each rank owning 2c. Per layer:
  //   qkv + max(attn_0, x) + 2 max(attn_s, x) + attn_s + merge + rest
  // with attn_0 = 2 causal(c, c) + dense(c, c) (its own two chunks), attn_s = 2 dense(c, c)
  // for the three later steps (two unmasked chunk pairs each), x the message of 2c tokens' K/V
  // of one layer; TTFT = embedding + 32 layers + LM head. A slow and a fast link put the
  // transfer and the attention in turn on the critical path.
  for (const char* bandwidth : {"2GB/s", "100TB/s"}) {
    testing::Fixture f("llama-2-7b", mesh(4, bandwidth), 16384);
    const std::int64_t c = 2048;
    const StageCosts costs = stage_costs(f.setup, 2 * c, 2 * c, Mask::kCausal);
    const Duration causal = attention_time(f.setup, c, c, Mask::kCausal);
    const Duration dense = attention_time(f.setup, c, c, Mask::kDense);
    const Duration first = 2 * causal + dense;
    const Duration later = 2 * dense;
    const Duration x = net::message_time(f.topology->gpu_route(0, 1),
                                         2.0 * c * kv_bytes_per_token_layer(f.setup),
                                         f.setup.collectives.point_to_point);
    const Duration layer = costs.qkv + std::max(first, x) + 2 * std::max(later, x) + later +
                           merge_time(f.setup, 2 * c, 4) + costs.rest;
    const Duration expected = costs.embedding + 32 * layer + costs.head;
    const PrefillResult r = RingStrategy(RingOptions{}).run(f.setup, false);
    EXPECT_EQ(r.ttft, expected) << bandwidth;
    EXPECT_EQ(r.partition, (Partition{4096, 4096, 4096, 4096}));
  }
}

TEST(Ring, OneRankIsPlainPrefillOfTheWholePrompt) {
  // tp = all 2 GPUs leaves one sequence rank: no ring step sends anything and TTFT is
  // embedding + layers x (qkv + causal attention + rest) + head of the TP shard.
  testing::Fixture f("llama-2-7b", mesh(2, "300GB/s"), 4096);
  RingOptions o;
  o.tp = 2;
  const StageCosts c = rank_stage_costs(f.setup, 2, 0, 4096, 4096, Mask::kCausal);
  // Two chunks of 2048 on the one rank: causal, causal, and the later chunk over the earlier.
  const PrefillSetup shard = rank_setup(f.setup, 2);
  const Duration attention = 2 * attention_time(shard, 2048, 2048, Mask::kCausal) +
                             attention_time(shard, 2048, 2048, Mask::kDense);
  const Duration expected = c.embedding + 32 * (c.qkv + attention + c.rest) + c.head;
  EXPECT_EQ(RingStrategy(o).run(f.setup, false).ttft, expected);
}

TEST(Ring, AutoPassesQueriesWhenMostOfThePromptIsCached) {
  // Llama-3-70B: 64 query heads, 8 KV heads. pass-q's message is smaller when
  // new x 64 < 2 x prompt x 8, i.e. when under a quarter of the prompt is new.
  const LlmSpec m = catalog::llm("llama-3-70b");
  RingOptions o;
  o.variant = RingVariant::kAuto;
  EXPECT_EQ(ring_variant(o, m, 100000), RingVariant::kPassKv);
  o.cached_share = 0.7;  // 30% new
  EXPECT_EQ(ring_variant(o, m, 100000), RingVariant::kPassKv);
  o.cached_share = 0.8;  // 20% new
  EXPECT_EQ(ring_variant(o, m, 100000), RingVariant::kPassQ);
}

TEST(Ring, PassQBeatsPassKvOnASlowLinkWhenMostKvIsCached) {
  // 90% of 32768 tokens cached, 4 ranks on 1 GB/s links: pass-kv moves 8192 tokens' K/V per
  // step (of 8 KV heads), pass-q 819 tokens' queries (64 heads): 8192 x 16 > 819 x 64.
  testing::Fixture f("llama-3-8b", mesh(4, "1GB/s"), 32768);
  RingOptions kv;
  kv.cached_share = 0.9;
  RingOptions q = kv;
  q.variant = RingVariant::kPassQ;
  EXPECT_LT(RingStrategy(q).run(f.setup, false).ttft, RingStrategy(kv).run(f.setup, false).ttft);
  // With nothing cached pass-kv's message is 2 x 8 / 32 of pass-q's: pass-kv wins.
  kv.cached_share = 0;
  q.cached_share = 0;
  EXPECT_LT(RingStrategy(kv).run(f.setup, false).ttft, RingStrategy(q).run(f.setup, false).ttft);
}

TEST(TwoLevel, KvrOverTpGroupsMatchesItsClosedFormLaneByLane) {
  // 8 GPUs as 4 TP pairs; each process's K/V message is split over 2 lanes on separate links.
  testing::Fixture f("llama-2-7b", mesh(8, "10GB/s"), 16384);
  KvrOptions o;
  o.tp = 2;
  const Partition parts{5000, 4200, 3800, 3384};
  EXPECT_EQ(closed_form_obstacle(f.setup, o), "");
  const PrefillResult r = simulate_kvr(f.setup, parts, o, false);
  EXPECT_EQ(r.ttft, kvr_closed_form_ttft(f.setup, parts, true, 2));
  EXPECT_EQ(r.gpus.size(), 8U);  // one entry per GPU, not per group
}

TEST(TwoLevel, TspOverTpGroupsIsFasterThanEachGroupAlone) {
  // TSP on 4 GPUs as 2 TP pairs beats TSP over 2 GPUs (the same ranks without TP) on fast links.
  testing::Fixture four("llama-2-7b", mesh(4, "300GB/s"), 8192);
  testing::Fixture two("llama-2-7b", mesh(2, "300GB/s"), 8192);
  EXPECT_LT(TspStrategy(false, 2, false).run(four.setup, false).ttft,
            TspStrategy(false, 1, false).run(two.setup, false).ttft);
}

TEST(TwoLevel, ImpossibleLayoutsAreRefusedByName) {
  const LlmSpec m = catalog::llm("llama-3-70b");  // 64 heads, 8 KV heads
  EXPECT_EQ(two_level_obstacle(m, 16, 8, "ring"), "");
  EXPECT_NE(two_level_obstacle(m, 12, 8, "ring").find("do not divide"), std::string::npos);
  EXPECT_NE(two_level_obstacle(m, 24, 3, "tsp").find("heads"), std::string::npos);
  EXPECT_NE(two_level_obstacle(m, 32, 16, "kvr").find("KV heads"), std::string::npos);
  // 8 ranks need 16 chunks: a 10-token prompt cannot fill them.
  testing::Fixture f("llama-2-7b", mesh(8, "300GB/s"), 10);
  EXPECT_THROW((void)RingStrategy(RingOptions{}).memory_plan(f.setup), std::invalid_argument);
}

}  // namespace kvsim::prefill

namespace kvsim::prefill {

TEST(FabricPresets, OneNicPerGpuAtTheRateNcclAchieves) {
  // rail-400g-rdma: 400e9 / 8 x 0.976 = 48.8e9 B/s; frontend-100g-tcp: 100e9 / 8 x 0.40 =
  // 5e9 B/s. A cross-node route's bottleneck is that NIC link; 2 nodes x 8 GPUs have 16 NICs.
  for (const auto& [fabric, rate] : {std::pair<const char*, double>{"rail-400g-rdma", 48.8e9},
                                     {"frontend-100g-tcp", 5e9}}) {
    const Json j{{"type", "multi-node"}, {"nodes", 2}, {"fabric", fabric}};
    const net::Topology t = net::topologies().create(ConfigNode(&j, "test", Json::json_pointer()),
                                                     catalog::gpu("h100-sxm"));
    EXPECT_DOUBLE_EQ(t.gpu_route(0, 8).bottleneck, rate) << fabric;
    int nics = 0;
    for (int n = 0; n < t.node_count(); ++n) nics += t.node(n).kind == net::NodeKind::kNic;
    EXPECT_EQ(nics, 16) << fabric;
  }
}

}  // namespace kvsim::prefill
