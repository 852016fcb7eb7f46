// Prefill/decode disaggregation (sim/serving/disaggregation): a lone request's TTFT is kvsim
// run's prefill plus the closed-form KV transfer, for every prefill strategy; a batched prefill
// is kvsim run's prefill of the batch's summed tokens; a full decode
// pool back-pressures prefill; every global scheduler and transfer mode finishes every request
// deterministically, with and without Splitwise's mixed pool and with a heterogeneous H100/A100
// pool pair (the conformance suite for instance roles and policies); refusals by name.
#include <algorithm>
#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "serving/serving_run.hpp"
#include "sim/network/flow_network.hpp"
#include "sim/scenario/prefill_memory.hpp"
#include "sim/serving/disaggregation/kv_transfer.hpp"
#include "sim/serving/disaggregation/global_scheduler.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::serving {
namespace {

// Two servers of 4 A100s, each GPU with its own 200 Gb/s NIC (25 GB/s, below PCIe's 32 GB/s).
Json two_nodes() {
  return Json{{"gpu", "a100-sxm4-80gb"},
              {"topology", {{"type", "multi-node"}, {"nodes", 2}, {"gpus_per_node", 4}}}};
}

Json lone_request(std::int64_t prompt, std::int64_t output) {
  return Json{{"requests", 1},
              {"arrivals", {{"type", "fixed"}, {"rate", "1/s"}}},
              {"lengths", {{"type", "fixed"}, {"prompt", prompt}, {"output", output}}}};
}

Json pools(Json strategy, int prefill_instances, int prefill_gpus, int decode_instances,
           int decode_tp, const std::string& transfer = "whole") {
  return Json{{"prefill",
               {{"instances", prefill_instances}, {"gpus", prefill_gpus},
                {"strategy", std::move(strategy)}}},
              {"decode", {{"instances", decode_instances}, {"tensor_parallel", decode_tp}}},
              {"transfer", transfer}};
}

// kvsim run's TTFT for `strategy` on GPUs 0..gpus-1 of the same cluster and a `tokens` prompt.
Duration run_ttft(const Json& strategy, std::int64_t tokens, int gpus) {
  const ConfigDocument doc(Json{{"model", "llama-2-7b"},
                                {"cluster", two_nodes()},
                                {"compute", {{"type", "roofline"}}},
                                {"prefill",
                                 {{"context_tokens", tokens},
                                  {"gpus", gpus},
                                  {"strategies", Json::array({strategy})}}}},
                           "run.json");
  const Scenario s = load_scenario(doc);
  return run_prefill(s, false).front().result.ttft;
}

// The lone request's TTFT (seconds), from the per-request observer.
double lone_ttft(const Json& disaggregation, std::int64_t prompt) {
  ServingRun run(Json{{"workload", lone_request(prompt, 4)}, {"disaggregation", disaggregation}},
                 two_nodes());
  double ttft = -1;
  ServingObservers observers;
  observers.request = [&ttft](const RequestRecord& r) { ttft = r.first_token - r.arrival; };
  run.summary(observers);
  return ttft;
}

const std::vector<Json>& strategies() {
  static const std::vector<Json> all{
      {{"type", "tp"}},
      {{"type", "tsp"}},
      {{"type", "kvr"}, {"partitioner", {{"type", "even"}}}},
      {{"type", "kvr"}, {"partitioner", {{"type", "search"}}}},
      {{"type", "ring"}}};
  return all;
}

}  // namespace

TEST(Disaggregation, LoneRequestTtftIsRunsPrefillPlusClosedFormTransfer) {
  // Prefill on GPUs 0-3 (node 0), decode on GPU 4 (node 1). Llama-2-7B's KV in fp16:
  // 2 (K, V) x 32 layers x 32 heads x 128 x 2 bytes = 524,288 bytes a token, so a 2048-token
  // prompt is 1,073,741,824 bytes. However the strategy splits it, all of it enters GPU 4
  // through its NIC (25 GB/s, the slowest link of every route): serialisation
  // ceil(1,073,741,824 / 25e9 s) = 42,949,673 ns, plus the route's latency (PCIe, NIC, NIC,
  // PCIe, equal for every sender).
  const std::int64_t prompt = 2048;
  const ServingRun probe(Json{{"workload", lone_request(prompt, 4)}}, two_nodes());
  const Duration latency = probe.scenario.topology->gpu_route(0, 4).latency;
  for (int g = 1; g < 4; ++g) ASSERT_EQ(probe.scenario.topology->gpu_route(g, 4).latency, latency);
  const Duration serialisation{42'949'673};
  for (const Json& strategy : strategies()) {
    const Duration expected = run_ttft(strategy, prompt, 4) + latency + serialisation;
    EXPECT_NEAR(lone_ttft(pools(strategy, 1, 4, 1, 1), prompt), to_seconds(expected), 1e-12)
        << strategy.dump();
  }
}

namespace {

// The KV transfer run as max-min fair flows on the flow network: when the last byte lands.
Duration transfer_as_flows(const net::Topology& topology, const std::vector<int>& from,
                           const std::vector<std::int64_t>& shares, const std::vector<int>& to,
                           double bytes) {
  EventQueue queue;
  net::FlowNetwork network(queue, topology);
  const double total =
      static_cast<double>(std::accumulate(shares.begin(), shares.end(), std::int64_t{0}));
  for (std::size_t i = 0; i < from.size(); ++i) {
    for (const int gpu : to) {
      const double flow = bytes * static_cast<double>(shares[i]) / total /
                          static_cast<double>(to.size());
      network.start_between_gpus(from[i], gpu, flow, [] {});
    }
  }
  queue.run();
  return queue.now() - SimTime{0};
}

}  // namespace

TEST(Disaggregation, ClosedFormTransferIsWhatFlowsTakeThroughOneBottleneck) {
  // Four senders, two decode ranks on the other server, 1 GiB of KV. Even shares (TP, TSP,
  // KVR-E): each receiver's NIC (25 GB/s) carries half the bytes and stays every flow's
  // bottleneck, so the flows finish at the closed form's latency + ceil(2^29 / 25e9 s), to
  // the nanosecond (the flows' rounding).
  const ServingRun probe(Json{{"workload", lone_request(100, 4)}}, two_nodes());
  const net::Topology& topology = *probe.scenario.topology;
  const std::vector<int> from{0, 1, 2, 3}, to{4, 5};
  const double bytes = 524'288.0 * 2048;
  const std::vector<std::int64_t> even{512, 512, 512, 512};
  const disaggregation::KvTransfer t = disaggregation::kv_transfer(topology, from, {}, to, bytes);
  EXPECT_EQ(t.serialisation, from_seconds_ceil(bytes / 2 / 25e9));
  EXPECT_LE(std::abs((transfer_as_flows(topology, from, even, to, bytes) - t.total()).count()),
            1);
  // Uneven shares (a KV-Runahead partition): once the small senders finish, GPU 0's own NIC
  // (its 900/2048 of the bytes) limits it and the receivers' NICs idle, so the closed form is
  // the lower bound it says it is: here 2.1 ms under the flows' 23.6 ms.
  const std::vector<std::int64_t> uneven{900, 700, 300, 148};
  const disaggregation::KvTransfer u =
      disaggregation::kv_transfer(topology, from, uneven, to, bytes);
  EXPECT_EQ(u.total(), t.total());
  const Duration flows = transfer_as_flows(topology, from, uneven, to, bytes);
  EXPECT_GT(flows, u.total());
  EXPECT_LT(to_seconds(flows - u.total()), 0.1 * to_seconds(flows));
}

TEST(Disaggregation, LayerwiseTransferOverlapsThePrefill) {
  // Layer by layer, a pipeline of 32 layers of prefill P/32 and serialisation S/32:
  // TTFT = max(P, S) + ceil(min(P, S) / 32) + latency.
  const std::int64_t prompt = 2048;
  const Json tsp{{"type", "tsp"}};
  const ServingRun probe(Json{{"workload", lone_request(prompt, 4)}}, two_nodes());
  const Duration latency = probe.scenario.topology->gpu_route(0, 4).latency;
  const Duration p = run_ttft(tsp, prompt, 4);
  const Duration s{42'949'673};
  const Duration expected =
      std::max(p, s) + Duration{(std::min(p, s).count() + 31) / 32} + latency;
  EXPECT_NEAR(lone_ttft(pools(tsp, 1, 4, 1, 1, "layerwise"), prompt), to_seconds(expected),
              1e-12);
  EXPECT_LT(to_seconds(expected), to_seconds(p + s + latency));
}

TEST(Disaggregation, TpotIsTheDecodeInstancesIteration) {
  // Disaggregated decode iterations are colocated replicas' decode iterations: with the same
  // tensor parallelism, one request's TPOT matches a colocated replica's (its prefill aside).
  Json workload = lone_request(512, 20);
  ServingRun colocated(Json{{"workload", workload}, {"tensor_parallel", 2}},
                       Json{{"gpu", "a100-sxm4-80gb"},
                            {"topology", {{"type", "nvswitch"}, {"gpus", 8}}}});
  ServingRun split(Json{{"workload", workload},
                        {"disaggregation", pools({{"type", "tp"}}, 1, 2, 1, 2)}},
                   Json{{"gpu", "a100-sxm4-80gb"},
                        {"topology", {{"type", "nvswitch"}, {"gpus", 8}}}});
  EXPECT_DOUBLE_EQ(split.summary()["tpot"]["mean_s"].get<double>(),
                   colocated.summary()["tpot"]["mean_s"].get<double>());
}

TEST(Disaggregation, FullDecodePoolBackPressuresPrefill) {
  // One decode GPU holds about 120k KV tokens (80 GB x 0.9 less 13.5 GB of weights, at
  // 0.5 MiB a token); 200 requests of 2000 + 2000 tokens arriving at once need 800k: most wait
  // for decode memory, yet every one completes. With 4 decode instances fewer wait.
  const Json workload{{"requests", 200},
                      {"arrivals", {{"type", "poisson"}, {"rate", "1000/s"}}},
                      {"lengths", {{"type", "fixed"}, {"prompt", 2000}, {"output", 2000}}}};
  const auto waits = [&](int decode_instances) {
    ServingRun run(Json{{"workload", workload},
                        {"disaggregation", pools({{"type", "tp"}}, 2, 2, decode_instances, 1)}},
                   two_nodes());
    const Json summary = run.summary();
    EXPECT_EQ(summary["requests"], 200);
    return summary["disaggregation"]["decode_memory_waits"]["count"].get<std::uint64_t>();
  };
  const std::uint64_t one = waits(1);
  EXPECT_GT(one, 0u);
  EXPECT_LT(waits(4), one);
  // Batches of 8 prompts: a batch's transfers start in order as decode memory frees, its
  // instance held until the last has left; every request still completes.
  ServingRun batched(Json{{"workload", workload},
                          {"disaggregation", [] {
                             Json d = pools({{"type", "tp"}}, 2, 2, 1, 1);
                             d["prefill"]["max_batch_size"] = 8;
                             return d;
                           }()}},
                     two_nodes());
  const Json summary = batched.summary();
  EXPECT_EQ(summary["requests"], 200);
  EXPECT_GT(summary["disaggregation"]["decode_memory_waits"]["count"].get<std::uint64_t>(), 0u);
}

TEST(Disaggregation, EveryGlobalSchedulerAndTransferFinishesEveryRequest) {
  // The conformance suite over instance roles and policies: colocated replicas, then every
  // registered global scheduler with each transfer mode and prefill strategy; all requests
  // complete (the run throws otherwise) and a second run is byte-identical.
  const Json workload{{"requests", 120},
                      {"arrivals", {{"type", "poisson"}, {"rate", "40/s"}}},
                      {"lengths", {{"type", "uniform"}, {"prompt_min", 16}, {"prompt_max", 3000},
                                   {"output_min", 1}, {"output_max", 300}}}};
  ServingRun colocated(Json{{"workload", workload}, {"replicas", 2}, {"tensor_parallel", 2}},
                       two_nodes());
  EXPECT_EQ(colocated.summary()["requests"], 120);
  ASSERT_GE(disaggregation::global_schedulers().names().size(), 3u);
  for (const std::string& policy : disaggregation::global_schedulers().names()) {
    for (const std::string transfer : {"whole", "layerwise"}) {
      for (const Json& strategy : {Json{{"type", "tp"}}, Json{{"type", "tsp"}}}) {
        Json d = pools(strategy, 2, 2, 2, 2, transfer);
        d["policy"] = {{"type", policy}};
        ServingRun run(Json{{"workload", workload}, {"disaggregation", d}}, two_nodes());
        const Json a = run.summary();
        const std::string what = policy + " " + transfer + " " + strategy.dump();
        EXPECT_EQ(a["requests"], 120) << what;
        EXPECT_EQ(a["disaggregation"]["kv_transfer"]["count"], 120) << what;
        EXPECT_EQ(a.dump(), run.summary().dump()) << "deterministic: " << what;
      }
      // A heterogeneous pool pair: H100 prefill on the first server, A100 decode on the second.
      Json h = pools({{"type", "tp"}}, 2, 2, 2, 2, transfer);
      h["policy"] = {{"type", policy}};
      h["prefill"]["gpu"] = "h100-sxm";
      ServingRun mixed(Json{{"workload", workload}, {"disaggregation", h}}, two_nodes());
      const Json m = mixed.summary();
      EXPECT_EQ(m["requests"], 120) << policy << " " << transfer << " h100/a100";
      EXPECT_EQ(m["disaggregation"]["prefill"]["gpu"], "h100-sxm");
      EXPECT_EQ(m.dump(), mixed.summary().dump()) << "deterministic: h100/a100 " << policy;
      // Batched prefill (whole transfers only): up to 4 prompts a pass.
      if (transfer == "whole") {
        for (const Json& strategy : {Json{{"type", "tp"}}, Json{{"type", "tsp"}}}) {
          Json d = pools(strategy, 2, 2, 2, 2, transfer);
          d["policy"] = {{"type", policy}};
          d["prefill"]["max_batch_size"] = 4;
          ServingRun run(Json{{"workload", workload}, {"disaggregation", d}}, two_nodes());
          const Json a = run.summary();
          const std::string what = policy + " batched " + strategy.dump();
          EXPECT_EQ(a["requests"], 120) << what;
          EXPECT_EQ(a.dump(), run.summary().dump()) << "deterministic: " << what;
        }
      }
      // Splitwise's mixed pool: one prefill and two decode instances of 2 GPUs, and a mixed
      // one lent to whichever pool is overloaded (threshold 2 queued or running).
      Json d = pools(Json{{"type", "tp"}}, 1, 2, 2, 2, transfer);
      d["policy"] = {{"type", policy}};
      d["mixed"] = {{"instances", 1}, {"threshold", 2}};
      ServingRun run(Json{{"workload", workload}, {"disaggregation", d}}, two_nodes());
      const Json a = run.summary();
      const std::string what = policy + " " + transfer + " mixed";
      EXPECT_EQ(a["requests"], 120) << what;
      EXPECT_GT(a["disaggregation"]["mixed"]["lent_to_prefill"].get<int>(), 0) << what;
      EXPECT_EQ(a.dump(), run.summary().dump()) << "deterministic: " << what;
    }
  }
}

TEST(Disaggregation, RefusesWhatItDoesNotModelByName) {
  const auto error = [](Json serving) -> std::string {
    serving["workload"] = lone_request(100, 4);
    try {
      ServingRun(serving, two_nodes()).summary();
    } catch (const InputError& e) {
      return e.what();
    }
    return "no error";
  };
  const Json d = pools({{"type", "tp"}}, 1, 4, 1, 1);
  EXPECT_NE(error(Json{{"disaggregation", d}, {"replicas", 2}}).find("/serving/replicas"),
            std::string::npos);
  Json big = pools({{"type", "tp"}}, 2, 4, 1, 2);
  EXPECT_NE(error(Json{{"disaggregation", big}}).find("need 10 GPUs"), std::string::npos);
  Json unknown = d;
  unknown["policy"] = {{"type", "shortest"}};
  EXPECT_NE(error(Json{{"disaggregation", unknown}}).find("/serving/disaggregation/policy/type"),
            std::string::npos);
  Json tsp = pools({{"type", "tsp"}}, 1, 4, 1, 1);
  const std::string short_prompt = [&] {
    Json serving{{"disaggregation", tsp}, {"workload", lone_request(2, 4)}};
    try {
      ServingRun(serving, two_nodes()).summary();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  }();
  EXPECT_NE(short_prompt.find("/serving/disaggregation/prefill"), std::string::npos);
}

}  // namespace kvsim::serving

namespace kvsim::serving {

TEST(Disaggregation, BatchedPrefillIsOnePassOverTheSummedTokens) {
  // One TP-4 prefill instance (GPUs 0-3) with max_batch_size 2 and three 1000-token prompts at
  // one instant. The first arrives alone and starts at once: kvsim run's TP prefill of 1000
  // tokens, T1. The other two wait and then go as one batch, priced as kvsim run's TP prefill
  // of 2000 tokens, T2. Each ships its own KV to GPU 4 through GPU 4's NIC in closed form:
  // 1000 x 524,288 B / 25e9 B/s = 20,971,520 ns, plus the route latency L. TTFTs:
  // T1 + L + S, then T1 + T2 + L + S twice.
  const Json tp{{"type", "tp"}};
  const ServingRun probe(Json{{"workload", lone_request(1000, 4)}}, two_nodes());
  const Duration latency = probe.scenario.topology->gpu_route(0, 4).latency;
  const Duration s{20'971'520};
  const Duration t1 = run_ttft(tp, 1000, 4), t2 = run_ttft(tp, 2000, 4);
  const auto ttfts = [&](std::int64_t max_batched_tokens) {
    Json d = pools(tp, 1, 4, 1, 1);
    d["prefill"]["max_batch_size"] = 2;
    d["prefill"]["max_batched_tokens"] = max_batched_tokens;
    const Json workload{{"requests", 3},
                        {"arrivals", {{"type", "burst"}}},
                        {"lengths", {{"type", "fixed"}, {"prompt", 1000}, {"output", 4}}}};
    ServingRun run(Json{{"workload", workload}, {"disaggregation", d}}, two_nodes());
    std::vector<double> out;
    ServingObservers observers;
    observers.request = [&out](const RequestRecord& r) {
      out.push_back(r.first_token - r.arrival);
    };
    const Json summary = run.summary(observers);
    EXPECT_NE(summary["warnings"].dump().find("upper bounds"), std::string::npos);
    std::sort(out.begin(), out.end());
    return out;
  };
  const std::vector<double> batched = ttfts(4096);
  ASSERT_EQ(batched.size(), 3u);
  EXPECT_NEAR(batched[0], to_seconds(t1 + latency + s), 1e-12);
  EXPECT_NEAR(batched[1], to_seconds(t1 + t2 + latency + s), 1e-12);
  EXPECT_NEAR(batched[2], to_seconds(t1 + t2 + latency + s), 1e-12);
  // The batch costs less than its prompts one by one (weights read once per pass).
  EXPECT_LT(t2, t1 + t1);
  // With max_batched_tokens 1500 no two prompts fit a batch: one at a time, k x T1 + L + S.
  const std::vector<double> single = ttfts(1500);
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(single[static_cast<std::size_t>(k)], to_seconds((k + 1) * t1 + latency + s),
                1e-12);
  }
}

TEST(Disaggregation, RefusesBatchedPrefillItCannotPriceByName) {
  const auto error = [](Json d) -> std::string {
    try {
      ServingRun(Json{{"workload", lone_request(100, 4)}, {"disaggregation", d}}, two_nodes())
          .summary();
    } catch (const InputError& e) {
      return e.what();
    }
    return "no error";
  };
  Json kvr = pools({{"type", "kvr"}}, 1, 4, 1, 1);
  kvr["prefill"]["max_batch_size"] = 2;
  EXPECT_NE(error(kvr).find("/serving/disaggregation/prefill/max_batch_size"), std::string::npos);
  Json layerwise = pools({{"type", "tp"}}, 1, 4, 1, 1, "layerwise");
  layerwise["prefill"]["max_batch_size"] = 2;
  EXPECT_NE(error(layerwise).find("/serving/disaggregation/transfer"), std::string::npos);
}

}  // namespace kvsim::serving
