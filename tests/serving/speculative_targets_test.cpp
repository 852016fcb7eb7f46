// Speculative decoding on mixture-of-experts, latent-attention and sliding-window targets: the
// verify pass priced through the target's own decomposition (pass_cost.hpp). With no drafts
// (k = 0) it is the target's decode step exactly; with drafts, MoE experts see the load of all
// (k + 1) x batch rows, MLA's absorbed kernel reads each sequence's latent KV once, and windows
// cap the keys the verify queries see.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sim/serving/engine.hpp"
#include "sim/serving/iteration_cost.hpp"
#include "sim/serving/speculative/pass_cost.hpp"

namespace kvsim::serving::speculative {
namespace {

// `model` on 8 x H200 (roofline), a decode layout of tp GPUs with `ep` expert-parallel ranks
// (0: none) and, for MoE models, a Zipf expert load (skewed, so that which rows reach which
// expert matters).
Scenario target(const std::string& model, int tp, int ep) {
  Json j{{"model", model},
         {"cluster", {{"gpu", "h200"}, {"topology", {{"type", "nvswitch"}, {"gpus", 8}}}}},
         {"compute", {{"type", "roofline"}}},
         {"decode", {{"batch_size", 8}, {"context_tokens", 6000}, {"tensor_parallel", tp}}}};
  if (ep > 0) {
    j["expert_load"] = Json{{"type", "zipf"}, {"skew", 0.8}};
    j["decode"]["expert_parallel"] = ep;
  }
  return load_scenario(ConfigDocument(j, model + ".json"));
}

// A verify pass of one chunk (q tokens, ending at KV length kv) per sequence.
IterationCompute verify(const Scenario& s, std::int64_t q, const std::vector<std::int64_t>& kvs,
                        int tp, int ep) {
  std::vector<Chunk> chunks;
  for (const std::int64_t kv : kvs) chunks.emplace_back(q, kv);
  IterationShape shape;
  shape.emitting = q * static_cast<std::int64_t>(kvs.size());
  return price_pass(s, s.model, tp, shape, 0, chunks, ep);
}

// The target's own decode step for one token per sequence at these KV lengths.
IterationCompute decode(const Scenario& s, const std::vector<std::int64_t>& kvs, int tp, int ep) {
  IterationShape shape;
  shape.decodes = kvs;
  shape.emitting = static_cast<std::int64_t>(kvs.size());
  return reference_iteration_cost(s, tp, shape, ep);
}

void expect_same(const IterationCompute& a, const IterationCompute& b, const std::string& what) {
  EXPECT_TRUE(a.layer_blocks == b.layer_blocks) << what;
  EXPECT_EQ(a.embedding, b.embedding) << what;
  EXPECT_EQ(a.head, b.head) << what;
  EXPECT_EQ(a.host, b.host) << what;
}

}  // namespace

TEST(SpeculativeTargets, WithoutDraftsTheVerifyPassIsTheTargetsDecodeStep) {
  const std::vector<std::int64_t> kvs{6000, 3000, 9000, 100, 4097, 6000, 20, 7000};
  struct Case {
    const char* model;
    int tp;
    int ep;  // 0: a dense MLP
  };
  // MoE with EP over the replica and with expert-TP 2; latent attention (and MoE); Mistral's
  // window on every layer; Gemma-2's local/global alternation.
  for (const Case c : {Case{"mixtral-8x7b", 4, 4}, Case{"mixtral-8x7b", 4, 2},
                       Case{"deepseek-v3", 8, 8}, Case{"mistral-7b", 1, 0},
                       Case{"gemma-2-9b", 2, 0}}) {
    const Scenario s = target(c.model, c.tp, c.ep);
    const int ep = c.ep == 0 ? 1 : c.ep;
    expect_same(verify(s, 1, kvs, c.tp, ep), decode(s, kvs, c.tp, ep),
                fmt::format("{} tp {} ep {}", c.model, c.tp, c.ep));
  }
}

TEST(SpeculativeTargets, MoeExpertsSeeTheLoadOfEveryVerifyRow) {
  // k = 3 drafts on 8 sequences: 32 rows through the router and experts, as 32 decoding
  // sequences' rows: the MLP block (after the output projection: no attention in it) is that of
  // a 32-row decode step, Zipf load included.
  const Scenario s = target("mixtral-8x7b", 4, 2);
  const std::vector<std::int64_t> kvs(8, 6000);
  const IterationCompute v = verify(s, 4, kvs, 4, 2);
  const IterationCompute rows32 = decode(s, std::vector<std::int64_t>(32, 6000), 4, 2);
  EXPECT_EQ(v.layer_blocks[1], rows32.layer_blocks[1]);
  EXPECT_GT(v.layer_blocks[1], decode(s, kvs, 4, 2).layer_blocks[1]);
}

TEST(SpeculativeTargets, LatentAttentionVerifiesWithTheAbsorbedKernelReadingKvOnce) {
  // DeepSeek-V3: 4 verify queries per sequence through the absorbed kernel read each sequence's
  // latent KV once: cheaper than 4 separate decode queries at the same positions (which read it
  // 4 times), dearer than 1.
  const Scenario s = target("deepseek-v3", 8, 8);
  const std::vector<std::int64_t> kvs(8, 6000);
  std::vector<std::int64_t> positions;
  for (const std::int64_t kv : kvs) {
    for (std::int64_t at = kv - 3; at <= kv; ++at) positions.push_back(at);
  }
  const double attention = verify(s, 4, kvs, 8, 8).layer_blocks[0];
  EXPECT_LT(attention, decode(s, positions, 8, 8).layer_blocks[0]);
  EXPECT_GT(attention, decode(s, kvs, 8, 8).layer_blocks[0]);
}

TEST(SpeculativeTargets, WindowsCapTheKeysTheVerifyQueriesSee) {
  // Mistral-7B, a 4,096-token window on every layer: 4 queries at positions kv - 3 .. kv see the
  // last 4 + 4,096 - 1 keys and q x w = 16,384 query-key pairs wherever kv >= 4 + 4,096: the
  // verify pass costs the same at 5,000 and at 30,000 tokens, and more below the window.
  const Scenario s = target("mistral-7b", 1, 0);
  const IterationCompute at5k = verify(s, 4, {5000, 5000}, 1, 1);
  expect_same(at5k, verify(s, 4, {30000, 30000}, 1, 1), "beyond the window");
  EXPECT_LT(verify(s, 4, {2000, 2000}, 1, 1).layer_blocks[0], at5k.layer_blocks[0]);
}

TEST(SpeculativeTargets, ServingAMixtureOfExpertsTargetWithADrafterRuns) {
  Json j{{"model", "mixtral-8x7b"},
         {"expert_load", {{"type", "uniform"}}},
         {"cluster", {{"gpu", "h200"}, {"topology", {{"type", "nvswitch"}, {"gpus", 8}}}}},
         {"compute", {{"type", "roofline"}}},
         {"serving",
          {{"workload",
            {{"requests", 4},
             {"arrivals", {{"type", "burst"}}},
             {"lengths", {{"type", "fixed"}, {"prompt", 512}, {"output", 16}}}}},
           {"tensor_parallel", 4},
           {"expert_parallel", 2},
           {"drafter", {{"type", "eagle"}, {"k", 3}, {"acceptance", 0.7}}}}}};
  const ConfigDocument doc(j, "spec-moe.json");
  const Scenario s = load_scenario(doc);
  const ConfigNode node = doc.root().at("serving");
  ServingSetup setup = ServingSetup::from_config(node, s);
  Workload w(node.at("workload"), RandomStreams(s.seed), s.model.max_context);
  const Json summary = simulate_serving(s, setup, std::move(w)).summary;
  EXPECT_EQ(summary.at("vllm_bench").at("completed"), 4) << summary.dump();
}

}  // namespace kvsim::serving::speculative
