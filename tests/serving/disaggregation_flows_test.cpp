// KV-cache transfers as flows (sim/serving/disaggregation/kv_flows.hpp, "communication":
// "flows"): a lone transfer through one bottleneck takes the closed form's time; two transfers
// sharing their bottleneck each take twice as long; a background flow slows one as max-min
// sharing predicts; decode instances' all-reduces run as flows beside them.
#include <gtest/gtest.h>

#include "serving/serving_run.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::serving {
namespace {

// Two servers of 4 A100s, each GPU with its own 200 Gb/s NIC (25 GB/s, below PCIe's 32 GB/s).
Json two_nodes(Json background = Json::array()) {
  return Json{{"gpu", "a100-sxm4-80gb"},
              {"topology", {{"type", "multi-node"}, {"nodes", 2}, {"gpus_per_node", 4}}},
              {"background", std::move(background)}};
}

Json workload(std::int64_t requests, const char* arrivals, std::int64_t prompt) {
  Json a = arrivals == std::string("burst") ? Json{{"type", "burst"}}
                                            : Json{{"type", "fixed"}, {"rate", arrivals}};
  return Json{{"requests", requests},
              {"arrivals", std::move(a)},
              {"lengths", {{"type", "fixed"}, {"prompt", prompt}, {"output", 4}}}};
}

// Prefill instances of `gpus` GPUs with TP (even shares), one decode instance of tp 1 on the
// second server (GPU 4 when the prefill pool is the first server's).
Json serving(Json w, int prefill_instances, int gpus, const std::string& communication,
             const std::string& transfer = "whole") {
  return Json{{"workload", std::move(w)},
              {"communication", communication},
              {"disaggregation",
               {{"prefill",
                 {{"instances", prefill_instances},
                  {"gpus", gpus},
                  {"strategy", {{"type", "tp"}}}}},
                {"decode", {{"instances", 1}, {"tensor_parallel", 1}}},
                {"transfer", transfer}}}};
}

struct Outcome {
  std::vector<double> ttft;  // seconds, per request in completion order
  Json summary;
};

Outcome run(const Json& serving_section, const Json& cluster) {
  ServingRun r(serving_section, cluster);
  Outcome out;
  ServingObservers observers;
  observers.request = [&out](const RequestRecord& q) {
    out.ttft.push_back(q.first_token - q.arrival);
  };
  out.summary = r.summary(observers);
  return out;
}

// Llama-2-7B's KV in fp16 is 524,288 bytes a token (2 x 32 layers x 32 heads x 128 x 2 B).
constexpr double kBytesPerToken = 524'288.0;

}  // namespace

TEST(DisaggregationFlows, LoneTransferAsFlowsIsTheClosedForm) {
  // Four prefill GPUs on server 0 send their even quarters of a 2048-token prompt's 1 GiB to
  // GPU 4 on server 1: GPU 4's NIC (25 GB/s) is every flow's bottleneck and shares it evenly,
  // so the flows land at latency + 2^30 / 25e9 s, the closed form, to the nanosecond's
  // rounding (each flow rounds its own finish up). Layer by layer the same holds layer after
  // layer (32 parts, each landing or queueing as the closed form's pipeline says): within one
  // nanosecond a layer (measured: 6 ns).
  for (const std::string transfer : {"whole", "layerwise"}) {
    const Outcome closed = run(serving(workload(1, "1/s", 2048), 1, 4, "closed-form", transfer),
                           two_nodes());
    const Outcome flows = run(serving(workload(1, "1/s", 2048), 1, 4, "flows", transfer),
                          two_nodes());
    ASSERT_EQ(flows.ttft.size(), 1u);
    const double tolerance = transfer == "whole" ? 1e-9 : 32e-9;
    EXPECT_NEAR(flows.ttft[0], closed.ttft[0], tolerance) << transfer;
    const Json& kv = flows.summary["disaggregation"]["kv_transfer"];
    EXPECT_EQ(kv["count"], 1);
    EXPECT_DOUBLE_EQ(kv["bytes"].get<double>(), kBytesPerToken * 2048);
    // Whole: the send to the last byte; layerwise: the prefill's end to the last byte
    // (closed form: max(P, S) + ceil(min(P, S) / 32) + latency - P).
    EXPECT_NEAR(kv["seconds"].get<double>(), kv["closed_form_seconds"].get<double>(), tolerance)
        << transfer;
  }
}

TEST(DisaggregationFlows, TwoSimultaneousTransfersSharingALinkEachTakeTwiceAsLong) {
  // Two requests at once on two of four one-GPU prefill instances (GPUs 0 and 1, the same
  // prefill time P), both to the decode instance on GPU 4: their flows share GPU 4's NIC, 12.5 GB/s
  // each (max-min), so each transfer takes latency + ceil(2^30 B / 12.5e9 B/s) =
  // latency + 85,899,346 ns, where alone it takes latency + 42,949,673 ns.
  const Outcome lone = run(serving(workload(1, "1/s", 2048), 4, 1, "flows"), two_nodes());
  const Outcome both = run(serving(workload(2, "burst", 2048), 4, 1, "flows"), two_nodes());
  ASSERT_EQ(both.ttft.size(), 2u);
  const double alone_s = 42'949'673e-9, shared_s = 85'899'346e-9;
  for (const double ttft : both.ttft) EXPECT_NEAR(ttft - lone.ttft[0], shared_s - alone_s, 2e-9);
  const Json& kv = both.summary["disaggregation"]["kv_transfer"];
  // Each transfer's time doubles but for the route latency: seconds = 2 x (latency + 2S),
  // closed form 2 x (latency + S).
  EXPECT_NEAR(kv["seconds"].get<double>() - kv["closed_form_seconds"].get<double>(),
              2 * (shared_s - alone_s), 4e-9);
}

TEST(DisaggregationFlows, BackgroundFlowSlowsATransferAsMaxMinPredicts) {
  // One prefill GPU (0, the first of four one-GPU instances) sends 1 GiB to GPU 4 while a
  // background flow from GPU 1 to GPU 4 runs throughout. Both cross GPU 4's NIC (25 GB/s) and PCIe (32 GB/s). Uncapped, max-min gives
  // each 12.5 GB/s: the transfer takes ceil(2^30 / 12.5e9 s) = 85,899,346 ns. Capped at
  // 5 GB/s, the background keeps its 5 and the transfer gets the other 20 GB/s:
  // ceil(2^30 / 20e9 s) = 53,687,092 ns. Alone: 42,949,673 ns.
  const Outcome alone = run(serving(workload(1, "1/s", 2048), 4, 1, "flows"), two_nodes());
  const auto slowed = [&](Json background) {
    const Outcome r = run(serving(workload(1, "1/s", 2048), 4, 1, "flows"),
                      two_nodes(Json::array({std::move(background)})));
    return r.ttft.at(0) - alone.ttft.at(0);
  };
  EXPECT_NEAR(slowed({{"from", 1}, {"to", 4}}), (85'899'346 - 42'949'673) * 1e-9, 2e-9);
  EXPECT_NEAR(slowed({{"from", 1}, {"to", 4}, {"rate", "5GB/s"}}),
              (53'687'092 - 42'949'673) * 1e-9, 2e-9);
}

TEST(DisaggregationFlows, DecodeAllReducesAsFlowsGiveTheClosedFormTpotWhenAlone) {
  // A decode instance of tensor parallel 2 (GPUs 2 and 3 of an NVSwitch node, after a prefill
  // instance on GPUs 0 and 1) runs its all-reduces as flows; a lone request's iterations
  // meet no other traffic, so TPOT is the closed form's as for colocated flows replicas:
  // within the flows' per-step rounding (nanoseconds per all-reduce step; measured 3.4 ns a
  // token of 5.82 ms).
  const Json nvswitch{{"gpu", "a100-sxm4-80gb"}, {"topology", {{"type", "nvswitch"}, {"gpus", 4}}}};
  Json w = workload(1, "1/s", 512);
  w["lengths"]["output"] = 20;
  const auto tpot = [&](const std::string& communication) {
    Json s = serving(w, 1, 2, communication);
    s["disaggregation"]["decode"]["tensor_parallel"] = 2;
    return run(s, nvswitch).summary["tpot"]["mean_s"].get<double>();
  };
  const double closed = tpot("closed-form");
  EXPECT_NEAR(tpot("flows"), closed, 20e-9);
}

TEST(DisaggregationFlows, EveryGlobalSchedulerAndTransferFinishesEveryRequestAsFlows) {
  // The conformance suite's disaggregated cases with flows: contended transfers, decode
  // all-reduces as flows and a background flow; all requests complete, deterministically.
  const Json w{{"requests", 120},
               {"arrivals", {{"type", "poisson"}, {"rate", "40/s"}}},
               {"lengths", {{"type", "uniform"}, {"prompt_min", 16}, {"prompt_max", 3000},
                            {"output_min", 1}, {"output_max", 300}}}};
  const Json cluster = two_nodes(Json::array({{{"from", 3}, {"to", 6}, {"rate", "10GB/s"},
                                               {"mean_on", "20ms"}, {"mean_off", "50ms"}}}));
  for (const std::string policy : {"round-robin", "join-shortest-queue", "least-kv"}) {
    for (const std::string transfer : {"whole", "layerwise"}) {
      Json s = serving(w, 2, 2, "flows", transfer);
      s["disaggregation"]["decode"] = {{"instances", 2}, {"tensor_parallel", 2}};
      s["disaggregation"]["policy"] = {{"type", policy}};
      ServingRun r(s, cluster);
      const Json a = r.summary();
      EXPECT_EQ(a["requests"], 120) << policy << " " << transfer;
      EXPECT_EQ(a["disaggregation"]["kv_transfer"]["count"], 120) << policy << " " << transfer;
      EXPECT_EQ(a.dump(), r.summary().dump()) << "deterministic: " << policy << " " << transfer;
    }
  }
}

}  // namespace kvsim::serving
