// Disaggregated pools on different GPU types (sim/serving/disaggregation/pool_hardware.hpp):
// H100 prefill and A100 decode reproduce `kvsim run`'s H100 prefill plus the closed-form KV
// transfer over the A100 server's own links, the A100 decode step, and the pools' cost from
// the GPU prices; a calibrated profile that cannot price a pool's GPU says so.
#include <gtest/gtest.h>

#include "models/compute/gpu_prices.hpp"
#include "serving/serving_run.hpp"
#include "sim/core/input_error.hpp"
#include "sim/scenario/prefill_memory.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::serving {
namespace {

// Two servers of 4 GPUs of `gpu`, each GPU with its own 50 GB/s NIC: faster than an A100's
// PCIe 4 (32 GB/s), slower than an H100's PCIe 5 (64 GB/s).
Json two_nodes(const std::string& gpu) {
  return Json{{"gpu", gpu},
              {"topology",
               {{"type", "multi-node"},
                {"nodes", 2},
                {"gpus_per_node", 4},
                {"nic", {{"bandwidth", "50GB/s"}}}}}};
}

Json lone_request(std::int64_t prompt, std::int64_t output) {
  return Json{{"requests", 1},
              {"arrivals", {{"type", "fixed"}, {"rate", "1/s"}}},
              {"lengths", {{"type", "fixed"}, {"prompt", prompt}, {"output", output}}}};
}

// H100 prefill on the first server (the cluster GPU), decode on `decode_gpu` on the second.
Json h100_prefill(const Json& strategy, int decode_tp, const std::string& decode_gpu) {
  return Json{{"prefill", {{"instances", 1}, {"gpus", 4}, {"strategy", strategy}}},
              {"decode",
               {{"instances", 1}, {"tensor_parallel", decode_tp}, {"gpu", decode_gpu}}}};
}

// kvsim run's TTFT for `strategy` on GPUs 0-3 of `cluster`.
Duration run_ttft(const Json& strategy, std::int64_t tokens, const Json& cluster) {
  const ConfigDocument doc(Json{{"model", "llama-2-7b"},
                                {"cluster", cluster},
                                {"compute", {{"type", "roofline"}}},
                                {"prefill",
                                 {{"context_tokens", tokens},
                                  {"gpus", 4},
                                  {"strategies", Json::array({strategy})}}}},
                           "run.json");
  const Scenario s = load_scenario(doc);
  return run_prefill(s, false).front().result.ttft;
}

double lone_ttft(const Json& disaggregation, std::int64_t prompt) {
  ServingRun run(Json{{"workload", lone_request(prompt, 4)}, {"disaggregation", disaggregation}},
                 two_nodes("h100-sxm"));
  double ttft = -1;
  ServingObservers observers;
  observers.request = [&ttft](const RequestRecord& r) { ttft = r.first_token - r.arrival; };
  run.summary(observers);
  return ttft;
}

}  // namespace

TEST(HeterogeneousPools, LoneRequestTtftIsH100RunPlusTransferOverTheA100Server) {
  // Prefill on the H100 server as `kvsim run` prices it there; the KV cache (2048 tokens x
  // 524,288 bytes = 2^30 bytes for Llama-2-7B in fp16) all enters GPU 4, an A100, through its
  // PCIe link to its NIC, which the A100 server has at the A100's 32 GB/s (the H100's 64 GB/s
  // x 32/64): ceil(2^30 / 32e9 s) = 33,554,432 ns, the busiest link (its NIC: 50 GB/s; each
  // sender's PCIe: 2^28 bytes at 64 GB/s). Plus the route's latency.
  const std::int64_t prompt = 2048;
  const ServingRun probe(Json{{"workload", lone_request(prompt, 4)}}, two_nodes("h100-sxm"));
  const Duration latency = probe.scenario.topology->gpu_route(0, 4).latency;
  const Duration serialisation{33'554'432};
  for (const Json& strategy :
       {Json{{"type", "tp"}}, Json{{"type", "tsp"}},
        Json{{"type", "kvr"}, {"partitioner", {{"type", "search"}}}}}) {
    const Duration h100 = run_ttft(strategy, prompt, two_nodes("h100-sxm"));
    const Duration expected = h100 + latency + serialisation;
    EXPECT_NEAR(lone_ttft(h100_prefill(strategy, 1, "a100-sxm4-80gb"), prompt),
                to_seconds(expected), 1e-12)
        << strategy.dump();
    EXPECT_LT(h100, run_ttft(strategy, prompt, two_nodes("a100-sxm4-80gb")));
  }
  // An all-H100 pair ships it through the 50 GB/s NIC instead: ceil(2^30 / 50e9 s).
  EXPECT_NEAR(lone_ttft(h100_prefill(Json{{"type", "tp"}}, 1, "h100-sxm"), prompt),
              to_seconds(run_ttft(Json{{"type", "tp"}}, prompt, two_nodes("h100-sxm")) +
                         latency + Duration{21'474'837}),
              1e-12);
}

TEST(HeterogeneousPools, TpotIsTheA100DecodeStep) {
  // The decode pool's iterations are an A100 replica's, all-reduces over the A100 server's
  // NVLink (the H100's 450 GB/s x 300/450): one request's TPOT equals that of a colocated
  // replica of the same tensor parallelism on an all-A100 cluster.
  for (const int tp : {1, 2}) {
    const Json workload = lone_request(512, 20);
    ServingRun colocated(Json{{"workload", workload}, {"tensor_parallel", tp}},
                         two_nodes("a100-sxm4-80gb"));
    ServingRun split(Json{{"workload", workload},
                          {"disaggregation", h100_prefill({{"type", "tp"}}, tp,
                                                          "a100-sxm4-80gb")}},
                     two_nodes("h100-sxm"));
    ServingRun all_h100(Json{{"workload", workload},
                             {"disaggregation", h100_prefill({{"type", "tp"}}, tp, "h100-sxm")}},
                        two_nodes("h100-sxm"));
    const double a100 = colocated.summary()["tpot"]["mean_s"].get<double>();
    const Json summary = split.summary();
    EXPECT_DOUBLE_EQ(summary["tpot"]["mean_s"].get<double>(), a100) << "tp " << tp;
    EXPECT_LT(all_h100.summary()["tpot"]["mean_s"].get<double>(), a100) << "tp " << tp;
    EXPECT_EQ(summary["disaggregation"]["decode"]["gpu"], "a100-sxm4-80gb");
    EXPECT_EQ(summary["disaggregation"]["prefill"]["gpu"], "h100-sxm");
  }
}

TEST(HeterogeneousPools, PoolCostIsGpusTimesPrice) {
  // 4 H100s at the catalog's price and 2 A100s: cost per hour 4 x p_H + 2 x p_A; a price given
  // in the scenario replaces the catalog's. Over the run's span T seconds, the cost is
  // usd x T / 3600: per million output tokens that over the output tokens x 1e6, and the good
  // requests per dollar the good requests over it.
  const double h100 = default_gpu_price("h100-sxm")->usd_per_hour;
  const double a100 = default_gpu_price("a100-sxm4-80gb")->usd_per_hour;
  const Json workload{{"requests", 40},
                      {"arrivals", {{"type", "poisson"}, {"rate", "10/s"}}},
                      {"lengths", {{"type", "fixed"}, {"prompt", 600}, {"output", 50}}}};
  Json d = h100_prefill({{"type", "tp"}}, 2, "a100-sxm4-80gb");
  ServingRun run(Json{{"workload", workload}, {"disaggregation", d}}, two_nodes("h100-sxm"));
  Json s = run.summary();
  const Json& cost = s["disaggregation"]["cost_per_hour"];
  EXPECT_DOUBLE_EQ(cost["prefill"]["usd"].get<double>(), 4 * h100);
  EXPECT_DOUBLE_EQ(cost["decode"]["usd"].get<double>(), 2 * a100);
  EXPECT_DOUBLE_EQ(cost["usd"].get<double>(), 4 * h100 + 2 * a100);
  const double usd = (4 * h100 + 2 * a100) * s["duration_s"].get<double>() / 3600;
  EXPECT_DOUBLE_EQ(s["disaggregation"]["usd_per_million_output_tokens"].get<double>(),
                   usd / (40 * 50) * 1e6);
  EXPECT_DOUBLE_EQ(s["disaggregation"]["good_requests_per_usd"].get<double>(),
                   s["requests_meeting_slo"].get<double>() / usd);
  d["decode"]["price_per_gpu_hour"] = 0.5;
  ServingRun priced(Json{{"workload", workload}, {"disaggregation", d}}, two_nodes("h100-sxm"));
  s = priced.summary();
  EXPECT_DOUBLE_EQ(s["disaggregation"]["cost_per_hour"]["decode"]["usd"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(s["disaggregation"]["cost_per_hour"]["usd"].get<double>(), 4 * h100 + 1.0);
}

TEST(HeterogeneousPools, SaysWhatItCannotPriceOrPlace) {
  // No default price for the A100 40GB (kvsim has none): no cost, and a warning says how to
  // give one.
  const Json workload = lone_request(100, 4);
  const Json d = h100_prefill({{"type", "tp"}}, 1, "a100-sxm4-80gb");
  EXPECT_FALSE(default_gpu_price("a100-sxm4-40gb").has_value());
  Json unpriced = d;
  unpriced["prefill"]["gpu"] = "a100-sxm4-40gb";
  const auto summary = [&](const Json& pools, const Json& compute) {
    ConfigDocument doc(Json{{"model", "llama-2-7b"},
                            {"cluster", two_nodes("h100-sxm")},
                            {"compute", compute},
                            {"serving", {{"workload", workload}, {"disaggregation", pools}}}},
                       "serving.json");
    const Scenario s = load_scenario(doc);
    ServingSetup setup = ServingSetup::from_config(doc.root().at("serving"), s);
    Workload w(doc.root().at("serving").at("workload"), RandomStreams(s.seed),
               s.model.max_context);
    return simulate_serving(s, setup, std::move(w), {}).summary;
  };
  const Json roofline{{"type", "roofline"}};
  Json out = summary(unpriced, roofline);
  EXPECT_TRUE(out["disaggregation"]["cost_per_hour"].is_null());
  EXPECT_NE(out["warnings"].dump().find("prefill/price_per_gpu_hour"), std::string::npos);
  // A calibrated H100 profile cannot price the A100 decode pool (another SM generation): that
  // pool is priced by the roofline, and a warning says so.
  out = summary(d, Json{{"type", "calibrated"}, {"profile", "h100-sxm"}});
  EXPECT_NE(out["warnings"].dump().find("the decode pool's a100-sxm4-80gb is priced by the "
                                        "roofline"),
            std::string::npos);
  // Two GPU types on one server are refused by name.
  try {
    ServingRun mixed(Json{{"workload", workload},
                          {"disaggregation",
                           {{"prefill", {{"instances", 1}, {"gpus", 2},
                                         {"strategy", {{"type", "tp"}}}}},
                            {"decode", {{"instances", 1}, {"gpu", "a100-sxm4-80gb"}}}}}},
                     two_nodes("h100-sxm"));
    mixed.summary();
    ADD_FAILURE() << "GPU types sharing a server were accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("share a server"), std::string::npos) << e.what();
  }
}

}  // namespace kvsim::serving
