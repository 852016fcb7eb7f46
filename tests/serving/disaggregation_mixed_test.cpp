// Splitwise's mixed pool (serving.disaggregation.mixed): an idle mixed instance joins the
// prefill pool when every prefill instance's queue reaches the threshold, and the decode pool
// when no decode instance has room for a request's KV; every request still finishes, and a
// mixed pool that is never needed changes nothing.
#include <gtest/gtest.h>

#include "serving/serving_run.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::serving {
namespace {

Json two_nodes() {
  return Json{{"gpu", "a100-sxm4-80gb"},
              {"topology", {{"type", "multi-node"}, {"nodes", 2}, {"gpus_per_node", 4}}}};
}

Json burst(std::int64_t requests, std::int64_t prompt, std::int64_t output) {
  return Json{{"requests", requests},
              {"arrivals", {{"type", "burst"}}},
              {"lengths", {{"type", "fixed"}, {"prompt", prompt}, {"output", output}}}};
}

// One-GPU instances: `prefill` prefill (TP), one decode, `mixed` mixed ones (none: no "mixed").
Json serving(Json workload, int prefill, int mixed, std::int64_t threshold) {
  Json d{{"prefill", {{"instances", prefill}, {"gpus", 1}, {"strategy", {{"type", "tp"}}}}},
         {"decode", {{"instances", 1}, {"tensor_parallel", 1}}}};
  if (mixed > 0) d["mixed"] = {{"instances", mixed}, {"threshold", threshold}};
  return Json{{"workload", std::move(workload)}, {"disaggregation", std::move(d)}};
}

}  // namespace

TEST(MixedPool, AnIdleInstanceJoinsThePrefillPoolWhenEveryQueueReachesTheThreshold) {
  // Eight 1000-token prompts at once on one prefill instance, threshold 2: the first two join
  // it; with two there, the third finds every prefill instance at the threshold and the mixed
  // instance joins the prefill pool; join-shortest-queue then shares the rest between the two.
  // It is lent once (the burst is the only arrival).
  const Json alone = ServingRun(serving(burst(8, 1000, 4), 1, 0, 2), two_nodes()).summary();
  ServingRun with(serving(burst(8, 1000, 4), 1, 1, 2), two_nodes());
  const Json mixed = with.summary();
  EXPECT_EQ(mixed["requests"], 8);
  const Json& m = mixed["disaggregation"]["mixed"];
  EXPECT_EQ(m["lent_to_prefill"], 1);
  EXPECT_EQ(m["lent_to_decode"], 0);
  EXPECT_GT(m["prefill_busy_fraction"].get<double>(), 0);
  EXPECT_EQ(m["gpus"], 1);
  // Prefill P per prompt, transfer T (T << P: NVLink): alone the last TTFT is 8P + T; with
  // the mixed instance 4P + T (instance 0 takes prompts 1, 2, 5 and 7, the mixed one 3, 4, 6
  // and 8: join-shortest-queue counts the prompt computing, ties go to instance 0).
  const double ttft_max_alone = alone["ttft"]["max_s"].get<double>();
  const double ttft_max_mixed = mixed["ttft"]["max_s"].get<double>();
  EXPECT_LT(ttft_max_mixed, ttft_max_alone * 0.6);
}

TEST(MixedPool, AnIdleInstanceJoinsTheDecodePoolWhenNoDecodeInstanceHasRoom) {
  // One decode GPU holds about 120k KV tokens; 100 requests of 2000 + 2000 tokens at once
  // need 400k: without a mixed pool prefills wait for decode memory. A mixed instance (never
  // lent to prefill: threshold 1000) joins the decode pool when the decode instance is full,
  // takes requests until it is full too, and returns once they finish (and may be lent again).
  const Json w = burst(100, 2000, 2000);
  const Json without = ServingRun(serving(w, 2, 0, 1000), two_nodes()).summary();
  const Json with = ServingRun(serving(w, 2, 1, 1000), two_nodes()).summary();
  EXPECT_EQ(with["requests"], 100);
  const Json& m = with["disaggregation"]["mixed"];
  EXPECT_GE(m["lent_to_decode"].get<int>(), 1);
  EXPECT_EQ(m["lent_to_prefill"], 0);
  EXPECT_GT(m["decode_busy_fraction"].get<double>(), 0);
  // Busy time and KV area of the lent instance are divided over the decode slots it adds too:
  // a full decode instance plus a busy mixed one stays a fraction.
  EXPECT_LE(with["kv_utilization"].get<double>(), 1.0);
  EXPECT_LE(with["gpu_busy_fraction"].get<double>(), 1.0);
  EXPECT_LT(with["disaggregation"]["decode_memory_waits"]["count"].get<int>(),
            without["disaggregation"]["decode_memory_waits"]["count"].get<int>());
  EXPECT_LT(with["e2e_latency"]["max_s"].get<double>(),
            without["e2e_latency"]["max_s"].get<double>());
}

TEST(MixedPool, AMixedPoolNeverLentChangesNoLatency) {
  // Threshold 1000 and decode memory to spare: the mixed instance is never lent, and every
  // latency is the run's without it (only the GPU count, and so goodput per GPU, differ).
  const Json w = burst(8, 1000, 20);
  const Json without = ServingRun(serving(w, 2, 0, 1000), two_nodes()).summary();
  const Json with = ServingRun(serving(w, 2, 1, 1000), two_nodes()).summary();
  EXPECT_EQ(with["disaggregation"]["mixed"]["lent_to_prefill"], 0);
  EXPECT_EQ(with["disaggregation"]["mixed"]["lent_to_decode"], 0);
  for (const char* metric : {"ttft", "tpot", "e2e_latency"}) {
    EXPECT_EQ(with[metric].dump(), without[metric].dump()) << metric;
  }
}

TEST(MixedPool, RefusesAMixedInstanceThatCannotTakeBothRoles) {
  Json s = serving(burst(2, 100, 4), 1, 1, 2);
  s["disaggregation"]["decode"]["tensor_parallel"] = 2;
  try {
    ServingRun(s, two_nodes()).summary();
    FAIL() << "a mixed instance of 1 GPU with decode tensor_parallel 2 was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/serving/disaggregation/mixed"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("same GPUs per instance"), std::string::npos);
  }
}

}  // namespace kvsim::serving
