// run --explain-costs shows the numbers the strategies use: on a network where nothing else
// competes, the per-GPU stage costs it prints rebuild each synchronous strategy's simulated TTFT
// to the nanosecond, and the shards are the ones the run chose.
#include "sim/report/cost_explanation.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "sim/report/cost_query.hpp"
#include "sim/scenario/prefill_memory.hpp"

namespace kvsim::report {
namespace {

const std::string kRoot = KVSIM_SOURCE_DIR;

struct Explained {
  Scenario s;
  std::vector<prefill::PrefillResult> runs;
  CostExplanation explanation;
};

// The shipped default: Llama-2-7B, 4096 tokens on 8 A100s behind an NVSwitch; single, tsp, tp
// and kvr/even, then a decode step.
Explained default_scenario() {
  Explained e{load_scenario(ConfigDocument::load_file(kRoot + "/scenarios/default.json")), {}, {}};
  for (const CheckedPrefill& r : run_prefill(e.s, false)) e.runs.push_back(r.result);
  e.explanation = explain_costs(e.s, e.runs);
  return e;
}

Duration slowest(const StrategyCosts& c, Duration ProcessShard::*stage) {
  Duration d{0};
  for (const ProcessShard& p : c.processes) d = std::max(d, p.*stage);
  return d;
}

TEST(CostExplanation, StageCostsRebuildTheSynchronousStrategiesTtft) {
  const Explained e = default_scenario();
  ASSERT_EQ(e.explanation.strategies.size(), 5u);  // four strategies and the decode step
  const Duration layers(e.s.model.layers);
  for (std::size_t i = 0; i < 3; ++i) {  // single, tsp, tp
    const StrategyCosts& c = e.explanation.strategies[i];
    // Every GPU runs the same shard here, so per layer:
    //   single: qkv + attention + rest
    //   tsp:    qkv, then the all-gather, then attention + rest
    //   tp:     its blocks (qkv + attention + out_proj, then the MLP) and two all-reduces
    // and TTFT = embedding + layers x that + head.
    const Duration layer = slowest(c, &ProcessShard::qkv) + slowest(c, &ProcessShard::attention) +
                           slowest(c, &ProcessShard::rest) +
                           slowest(c, &ProcessShard::communication);
    const Duration rebuilt = c.embedding + layers.count() * layer + c.head;
    // tp prices two blocks, the explanation three stages: each rounds to the nanosecond.
    const std::int64_t slack = c.label == "tp" ? 2 * e.s.model.layers : 0;
    EXPECT_LE(std::abs((rebuilt - e.runs[i].ttft).count()), slack) << c.label;
  }
}

TEST(CostExplanation, ShardsAreTheOnesTheRunChose) {
  const Explained e = default_scenario();
  const StrategyCosts& kvr = e.explanation.strategies[3];
  ASSERT_EQ(kvr.label, "kvr/even");
  ASSERT_EQ(kvr.processes.size(), 8u);
  std::int64_t keys = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    keys += e.runs[3].partition[i];
    EXPECT_EQ(kvr.processes[i].queries, e.runs[3].partition[i]);
    EXPECT_EQ(kvr.processes[i].keys, keys);  // S_i: every earlier token and its own
    EXPECT_EQ(kvr.processes[i].communication > Duration{0}, i > 0);
  }
  const StrategyCosts& tp = e.explanation.strategies[2];
  EXPECT_EQ(tp.processes[0].heads, 4);  // 32 heads over 8 GPUs
  EXPECT_EQ(tp.processes[0].queries, 4096);
  const StrategyCosts& decode = e.explanation.strategies[4];
  EXPECT_EQ(decode.label, "decode step");
  EXPECT_EQ(decode.processes[0].keys, e.s.decode->context_tokens);
}

// The decode step at TP 2 is serving's iteration of a TP 2 replica, as `kvsim cost layer
// --decode` prices it: three stage prices rounded to the nanosecond against one sum, so within
// 3 ns.
TEST(CostExplanation, DecodeStepAtTp2IsTheServingLayer) {
  const Explained e = default_scenario();
  const StrategyCosts decode = explain_costs(e.s, e.runs, 2).strategies.back();
  const ProcessShard& gpu1 = decode.processes.at(1);
  EXPECT_EQ(gpu1.heads, 16);
  const Duration stages = gpu1.qkv + gpu1.attention + gpu1.rest + gpu1.communication;
  const CostReport layer = price_layer(
      e.s, PassQuery{1, e.s.decode->context_tokens - 1, e.s.decode->batch_size, true, {0, 1}});
  EXPECT_NEAR(layer.seconds * 1e9, static_cast<double>(stages.count()), 3.0);
}

TEST(CostExplanation, JsonHasOneEntryPerStrategyWithItsShards) {
  const Explained e = default_scenario();
  const Json j = e.explanation.json();
  ASSERT_EQ(j.size(), 5u);
  EXPECT_EQ(j[1].at("strategy"), "tsp");
  EXPECT_EQ(j[1].at("per_layer").size(), 8u);
  EXPECT_EQ(j[1].at("per_layer")[3].at("first_token"), 1536);  // 3 x 512
}

}  // namespace
}  // namespace kvsim::report
