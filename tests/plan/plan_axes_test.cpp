// The layout axes of a plan: colocated against disaggregated layouts (prefill and decode
// pools) and speculative decoding's drafter with its draft length.
#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "tests/plan/plan_fixture.hpp"

namespace kvsim::plan {
namespace {

// Llama-3.2-1B on H100s, fixed 8,192-token prompts and 64-token outputs, Poisson at 10/s, at
// most 2 GPUs; colocated tp 1 or 2 x 1 or 2 replicas (2 x tp2 is past the constraint) against
// one prefill instance of one GPU (tp) handing its KV to one decode instance of one GPU.
Json split_plan() {
  return Json::parse(R"({
    "name": "test-split", "seed": 1, "model": "llama-3.2-1b",
    "workload": { "requests": 200, "arrivals": { "type": "poisson", "rate": "10/s" },
                  "lengths": { "type": "fixed", "prompt": 8192, "output": 64 } },
    "slo": { "ttft_p99": "500ms", "tpot_p99": "2.5ms" },
    "gpus": ["h100-sxm"],
    "constraints": { "max_gpus": 2 },
    "search": { "tensor_parallel": [1, 2], "replicas": [1, 2],
                "max_batched_tokens": [8192],
                "layout": ["colocated", "disaggregated"],
                "disaggregated": { "prefill": { "instances": [1], "gpus": [1],
                                                "strategy": [{ "type": "tp" }] },
                                   "decode": { "instances": [1], "tensor_parallel": [1] } } },
    "rate_tolerance": 0.1
  })");
}

TEST(PlanAxes, ColocatedOnlyUnlessAskedSoCandidatesAreNumberedAsBefore) {
  const PlanSpec spec = load_plan(test::plan_document(test::chat_plan()));
  EXPECT_TRUE(spec.space.colocated);
  EXPECT_FALSE(spec.space.disaggregated);
  ASSERT_EQ(spec.candidate_count(), 2u * 2 * 3);  // GPUs x tp x replicas
  // Index 7 = ((gpu 1) x 2 + tp 0) x 3 + replicas 1: h100, tp1, 2 replicas, as before the axes.
  const Candidate c = candidate(spec, 7);
  EXPECT_EQ(c.gpu.name, "h100-sxm");
  EXPECT_EQ(c.tensor_parallel, 1);
  EXPECT_EQ(c.replicas, 2);
  EXPECT_FALSE(c.disaggregated);
  EXPECT_TRUE(c.drafter.config.is_null());
}

TEST(PlanAxes, PoolsFollowTheColocatedGridPerGpuAndCostBothPools) {
  Json j = test::chat_plan();  // 2 GPU types x (tp 1, 2 x replicas 1, 2, 4)
  j["search"]["layout"] = {"colocated", "disaggregated"};
  j["search"]["disaggregated"] = Json::parse(R"({
      "prefill": { "instances": [1, 3], "gpus": [2], "strategy": [{"type": "tp"},
                                                                  {"type": "tsp"}] },
      "decode": { "instances": [5], "tensor_parallel": [1, 2] },
      "transfer": ["whole", "layerwise"], "policy": ["least-kv"] })");
  const PlanSpec spec = load_plan(test::plan_document(j));
  // Per GPU: 6 colocated + 2 x 2 x 2 x 2 disaggregated = 22.
  ASSERT_EQ(spec.candidate_count(), 2u * 22);
  // 22 + 6 = h100's first pool layout: 1 prefill instance, tp, decode tp1, whole.
  const Candidate first = candidate(spec, 28);
  ASSERT_TRUE(first.disaggregated);
  EXPECT_EQ(first.gpu.name, "h100-sxm");
  EXPECT_EQ(first.pools.label(), "1P(tp x2):5D(tp1)");
  // The last h100 candidate: 3 tsp instances of 2 GPUs, 5 decode instances of tp2, layerwise.
  const Candidate last = candidate(spec, 43);
  EXPECT_EQ(last.pools.label(), "3P(tsp x2):5D(tp2)");
  EXPECT_EQ(last.pools.transfer, "layerwise");
  EXPECT_EQ(last.gpus(), 3 * 2 + 5 * 2);
  EXPECT_DOUBLE_EQ(last.cost_per_hour(), 16 * last.gpu.price_per_hour);
  const Json s = scenario_document(spec, last, 8).json();
  EXPECT_FALSE(s["serving"].contains("replicas"));
  EXPECT_EQ(s["serving"]["disaggregation"]["prefill"]["instances"], 3);
  EXPECT_EQ(s["serving"]["disaggregation"]["decode"]["tensor_parallel"], 2);
  EXPECT_EQ(s["serving"]["disaggregation"]["policy"]["type"], "least-kv");
  EXPECT_EQ(s["cluster"]["topology"]["type"], "multi-node");  // 16 GPUs on servers of 8
}

TEST(PlanAxes, APoolLayoutIsBoundByItsPrefillPoolsCompute) {
  Json j = split_plan();
  j["search"]["layout"] = {"disaggregated"};
  j["workload"]["arrivals"]["rate"] = "60/s";
  const PlanSpec spec = load_plan(test::plan_document(j));
  const Screened s = screen_all(spec);
  ASSERT_EQ(s.candidates.size(), 1u);
  // Prefill compute: 1 GPU x peak / (2 x active parameters x 8,192 prompt tokens); the decode
  // pool's bounds (63 tokens a request) are far above it. For Llama-3.2-1B (1.24e9 parameters)
  // on an H100 (989 TFLOP/s dense bf16) that is ~48.8 requests/s, below the target 60.
  const LlmSpec m = catalog::llm("llama-3.2-1b");
  const GpuSpec g = catalog::gpu("h100-sxm");
  const double peak = std::max(g.peak_flops(DType::kBf16), g.peak_flops(DType::kFp16));
  const double bound = peak / (2.0 * static_cast<double>(m.active_parameters()) * 8192);
  EXPECT_EQ(s.screenings[0].bound_by, "prefill compute");
  EXPECT_NEAR(s.screenings[0].rate_bound, bound, 1e-9 * bound);
  EXPECT_GT(bound, 40);
  EXPECT_LT(bound, 60);
  EXPECT_EQ(s.screenings[0].pruned_kind, "throughput");
}

TEST(PlanAxes, BothPoolsMustHoldTheModelBeforeAnySimulation) {
  // Llama-3-70B's 141 GB of bf16 weights do not fit one 80 GB H100, so a prefill instance of
  // one GPU is pruned for memory (what serving would refuse when pricing the first prompt);
  // one of 4 GPUs (35 GB each) fits, and so does the tp4 decode pool.
  Json j = test::chat_plan();
  j["model"] = "llama-3-70b";
  j["gpus"] = {"h100-sxm"};
  j["search"] = Json::parse(R"({
      "layout": ["disaggregated"],
      "disaggregated": { "prefill": { "gpus": [1, 4] }, "decode": { "tensor_parallel": [4] } } })");
  const Screened s = screen_all(load_plan(test::plan_document(j)));
  ASSERT_EQ(s.candidates.size(), 2u);
  EXPECT_EQ(s.screenings[0].pruned_kind, "memory");
  EXPECT_NE(s.screenings[0].reason.find("a prefill instance (tp on 1 GPU) cannot hold"),
            std::string::npos)
      << s.screenings[0].reason;
  EXPECT_NE(s.screenings[1].pruned_kind, "memory") << s.screenings[1].reason;
  EXPECT_EQ(s.candidates[1].gpus(), 4 + 4);
}

TEST(PlanAxes, OnlyTheDisaggregatedSplitMeetsATightTpotSlo) {
  // A colocated replica runs each arriving 8,192-token prompt (~33 ms) in an iteration that
  // also carries the running decodes, so a request's 63 decode steps (~1.84 ms each) absorb
  // the prefills arriving meanwhile: ~0.5 ms of TPOT each, and at 10/s the p99 request meets
  // several (about 3.5 ms on two replicas). A decode instance runs decode steps only, so its
  // TPOT is the step time, within the 2.5 ms limit whatever the prefill pool does.
  const test::PlanRun r = test::run(split_plan());
  const Json& all = r.report.json["candidates"];
  ASSERT_EQ(all.size(), 5u);  // 4 colocated, 1 disaggregated
  for (std::size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(all[i]["label"].get<std::string>());
    if (all[i]["status"] == "pruned") {
      EXPECT_EQ(all[i]["gpus"], 4);  // 2 x tp2, past max_gpus
      continue;
    }
    EXPECT_EQ(all[i]["status"], "rejected");
    EXPECT_NE(all[i]["reason"].get<std::string>().find("tpot_p99"), std::string::npos);
  }
  const Json& split = all[4];
  EXPECT_EQ(split["status"], "feasible") << split.dump();
  EXPECT_EQ(split["layout"], "1P(tp x1):1D(tp1)");
  EXPECT_EQ(split["gpus"], 2);
  EXPECT_EQ(r.report.json["best"], 4);
  EXPECT_LE(split["at_target"]["tpot"]["p99_s"].get<double>(), 2.5e-3);
  EXPECT_GE(split["max_rate"].get<double>(), 10);
  EXPECT_NE(r.report.table.csv().find("1P(tp x1):1D(tp1)"), std::string::npos);
}

TEST(PlanAxes, ADrafterMeetsATpotSloThatPlainDecodingMisses) {
  // Llama-3-8B on one H100: a plain decode step is ~7.3 ms (TPOT p99 7.8 ms at 2/s); an EAGLE
  // head accepting each draft with probability 0.8 emits (1 - 0.8^(k+1)) / (1 - 0.8) tokens a
  // step, 2.44 at k = 2 and 3.36 at k = 4, for a step a little longer than a plain one.
  const Json j = Json::parse(R"({
    "name": "test-speculation", "seed": 1, "model": "llama-3-8b",
    "workload": { "requests": 200, "arrivals": { "type": "poisson", "rate": "2/s" },
                  "lengths": { "type": "fixed", "prompt": 512, "output": 128 } },
    "slo": { "tpot_p99": "5ms" },
    "gpus": ["h100-sxm"],
    "search": { "tensor_parallel": [1], "replicas": [1],
                "drafter": ["none", { "type": "eagle", "acceptance": 0.8 }],
                "draft_tokens": [2, 4] },
    "rate_tolerance": 0.25
  })");
  const test::PlanRun r = test::run(j);
  const Json& all = r.report.json["candidates"];
  ASSERT_EQ(all.size(), 3u);  // none, eagle k2, eagle k4
  EXPECT_EQ(all[0]["drafter"], "none");
  EXPECT_EQ(all[0]["status"], "rejected");
  EXPECT_NE(all[0]["reason"].get<std::string>().find("tpot_p99"), std::string::npos);
  EXPECT_EQ(all[1]["label"], "llama-3-8b h100-sxm 1x(tp1 pp1) vllm b256 t4096 recompute kv16 "
                             "u0.9 eagle k2");
  for (std::size_t i : {1, 2}) {
    EXPECT_EQ(all[i]["status"], "feasible") << all[i].dump();
  }
  const double k2 = all[1]["at_target"]["tpot"]["p99_s"], k4 = all[2]["at_target"]["tpot"]["p99_s"];
  EXPECT_LT(k4, k2);
  EXPECT_LT(k2, 5e-3);
  const Json s = scenario_document(r.spec, r.screened.candidates[2], 2).json();
  EXPECT_EQ(s["serving"]["drafter"]["k"], 4);
  EXPECT_NE(r.report.table.csv().find(",eagle k4,4,"), std::string::npos);
}

}  // namespace
}  // namespace kvsim::plan
