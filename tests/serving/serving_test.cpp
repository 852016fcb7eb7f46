// Serving: conformance of every scheduler and memory manager (limits kept, every request
// completes, deterministic), closed forms for a lone request, and M/D/1 queueing at light load.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>

#include "sim/serving/engine.hpp"
#include "serving/serving_run.hpp"

namespace kvsim::serving {
namespace {

Json workload(int requests, const std::string& rate, Json lengths) {
  return Json{{"requests", requests},
              {"arrivals", {{"type", "poisson"}, {"rate", rate}}},
              {"lengths", std::move(lengths)}};
}

double prefill_seconds(const Scenario& s, std::int64_t p) {
  DecomposeOptions o;
  o.precision = s.precision;
  double t = 0;
  for (const auto& op : prefill_layer(s.model, {p, p, Mask::kCausal}, o)) {
    t += s.compute->cost(op).seconds * static_cast<double>(s.model.layers);
  }
  for (const auto& op : model_ends(s.model, p, 1, o)) t += s.compute->cost(op).seconds;
  return t;
}

double decode_seconds(const Scenario& s, std::int64_t kv) {
  DecomposeOptions o;
  o.precision = s.precision;
  const std::vector<std::int64_t> lengths{kv};
  double t = 0;
  for (const auto& op : decode_layer(s.model, lengths, o)) {
    t += s.compute->cost(op).seconds * static_cast<double>(s.model.layers);
  }
  for (const auto& op : model_ends(s.model, 1, 1, o)) t += s.compute->cost(op).seconds;
  return t;
}

}  // namespace

TEST(Serving, EverySchedulerAndMemoryManagerKeepsLimitsAndFinishesEveryRequest) {
  // Tight memory (20% of HBM for everything) and fast arrivals force queueing and preemption.
  // Every registered scheduler and memory manager (the engine throws if a limit is broken, a
  // request is batched twice, or one never completes).
  ASSERT_GE(schedulers().names().size(), 4u);
  std::uint64_t preemptions = 0, swaps = 0;
  for (const std::string& scheduler : schedulers().names()) {
    for (const std::string& memory : kv_memories().names()) {
      for (const std::string preemption : {"recompute", "swap"}) {
        Json serving{{"workload", workload(300, "20/s", {{"type", "uniform"}, {"prompt_min", 16},
                                                         {"prompt_max", 2000}, {"output_min", 1},
                                                         {"output_max", 400}})},
                     {"scheduler", {{"type", scheduler}, {"max_batch_size", 32},
                                    {"max_batched_tokens", 2048}, {"preemption", preemption}}},
                     {"memory", {{"type", memory}, {"utilization", 0.2}}}};
        ServingRun run(serving);
        const Json a = run.summary();
        const std::string what = scheduler + " " + memory + " " + preemption;
        EXPECT_EQ(a["requests"], 300) << what;
        EXPECT_EQ(a.dump(), run.summary().dump()) << "deterministic: " << what;
        preemptions += a["preemptions"].get<std::uint64_t>();
        swaps += a["swaps"].get<std::uint64_t>();
      }
    }
  }
  EXPECT_GT(preemptions, swaps) << "the runs exercise recompute preemption";
  EXPECT_GT(swaps, 0u) << "and swap preemption";
}

TEST(Serving, PagedMemoryWastesLittleAndContiguousMuch) {
  Json serving{{"workload", workload(400, "8/s", {{"type", "uniform"}, {"prompt_min", 100},
                                                  {"prompt_max", 600}, {"output_min", 20},
                                                  {"output_max", 300}})},
               {"scheduler", {{"type", "vllm"}}}};
  serving["memory"] = {{"type", "paged"}};
  const Json paged = ServingRun(serving).summary();
  serving["memory"] = {{"type", "contiguous"}};
  const Json contiguous = ServingRun(serving).summary();
  EXPECT_LT(paged["kv_waste"].get<double>(), 0.04);       // vLLM paper: under 4%
  EXPECT_GT(contiguous["kv_waste"].get<double>(), 0.60);  // 60-80% for reservation
}

TEST(Serving, ALoneRequestHasThePrefillAsTtftAndTheDecodeStepAsTpot) {
  Json serving{{"workload", {{"requests", 1},
                             {"arrivals", {{"type", "fixed"}, {"rate", "1/s"}}},
                             {"lengths", {{"type", "fixed"}, {"prompt", 1000}, {"output", 5}}}}},
               {"scheduler", {{"type", "vllm"}}}};
  ServingRun run(serving);
  const Json a = run.summary();
  const double ttft = prefill_seconds(run.scenario, 1000);
  // Each iteration is rounded to whole nanoseconds once.
  EXPECT_NEAR(a["ttft"]["max_s"].get<double>(), ttft, 1e-9);
  double decode = 0;
  for (std::int64_t kv = 1001; kv <= 1004; ++kv) {
    decode += to_seconds(from_seconds(decode_seconds(run.scenario, kv)));
  }
  EXPECT_NEAR(a["tpot"]["max_s"].get<double>(), decode / 4, 1e-9);
}

TEST(Serving, LightLoadQueueingMatchesMD1) {
  // One request at a time (batch size 1), fixed prompt, one output token: service time D is one
  // prefill; Poisson arrivals at rate lambda: M/D/1 mean wait = rho D / (2 (1 - rho)).
  Json serving{{"workload", workload(20000, "3/s", {{"type", "fixed"}, {"prompt", 2048},
                                                     {"output", 1}})},
               {"scheduler", {{"type", "vllm"}, {"max_batch_size", 1}}}};
  ServingRun run(serving);
  const double d = to_seconds(from_seconds(prefill_seconds(run.scenario, 2048)));
  const double rho = 3 * d;
  ASSERT_LT(rho, 0.6);
  const double expected = rho * d / (2 * (1 - rho));
  const Json a = run.summary();
  EXPECT_NEAR(a["queueing_delay"]["mean_s"].get<double>(), expected, 0.1 * expected)
      << "rho " << rho << ", D " << d;
}

}  // namespace kvsim::serving

namespace kvsim::serving {
namespace {

Json nvswitch(int gpus) {
  return Json{{"gpu", "a100-sxm4-80gb"}, {"topology", {{"type", "nvswitch"}, {"gpus", gpus}}}};
}

Json lone_request(std::int64_t prompt, std::int64_t output) {
  return Json{{"requests", 1},
              {"arrivals", {{"type", "fixed"}, {"rate", "1/s"}}},
              {"lengths", {{"type", "fixed"}, {"prompt", prompt}, {"output", output}}}};
}

double relative(const Json& a, const Json& b) {
  return std::abs(a.get<double>() - b.get<double>()) / std::abs(b.get<double>());
}

}  // namespace

TEST(ServingParallel, ALoneRequestOnATensorAndPipelineParallelReplicaMatchesTheClosedForm) {
  // TP 2 x PP 2 on an NVSwitch: TTFT = stage 0 (embedding, 16 layers with two all-reduces
  // each) + the send of the hidden states + stage 1 (16 layers, LM head).
  Json serving{{"workload", lone_request(1000, 1)},
               {"tensor_parallel", 2},
               {"pipeline_parallel", 2},
               {"communication", "closed-form"}};
  ServingRun run(serving, nvswitch(4));
  const Scenario& s = run.scenario;
  DecomposeOptions o;
  o.precision = s.precision;
  o.tensor_parallel = 2;
  double layer = 0;
  for (const auto& op : prefill_layer(s.model, {1000, 1000, Mask::kCausal}, o)) {
    layer += s.compute->cost(op).seconds;
  }
  const auto ends = model_ends(s.model, 1000, 1, o);
  double head = 0;
  for (std::size_t i = 1; i < ends.size(); ++i) head += s.compute->cost(ends[i]).seconds;
  const double bytes = 1000.0 * static_cast<double>(s.model.hidden_size) * 2;  // fp16
  const auto all_reduce = [&](std::vector<int> gpus) {
    const auto kind = net::CollectiveKind::kAllReduce;
    return net::collective_time(*s.topology, gpus, kind, s.collectives.algorithm, bytes,
                                net::choose_protocol(*s.topology, gpus, kind, s.collectives,
                                                     bytes));
  };
  const net::Route& hop = s.topology->gpu_route(0, 2);
  const Duration send = hop.latency + from_seconds_ceil(bytes / 2 / hop.bottleneck);
  const Duration expected = from_seconds(s.compute->cost(ends[0]).seconds + 16 * layer) +
                            32 * all_reduce({0, 1}) + send +
                            from_seconds(16 * layer + head) + 32 * all_reduce({2, 3});
  const Json a = run.summary();
  EXPECT_NEAR(a["ttft"]["max_s"].get<double>(), to_seconds(expected), 1e-9);
  // And the same replica with its communication as flows on an idle network.
  run.doc.apply_override("/serving/communication=\"flows\"");
  const Json f = run.summary();
  EXPECT_NEAR(f["ttft"]["max_s"].get<double>(), to_seconds(expected), 200e-9)
      << "per-block rounding only";
}

TEST(ServingParallel, PipelineSendsPayThePointToPointProtocol) {
  // The same TP 2 x PP 2 request with a point-to-point protocol (50 us per message, half the
  // link): TTFT grows by exactly the difference of the two sends, in closed form and as flows.
  Json serving{{"workload", lone_request(1000, 1)},
               {"tensor_parallel", 2},
               {"pipeline_parallel", 2},
               {"communication", "closed-form"}};
  Json cluster = nvswitch(4);
  ServingRun bare(serving, cluster);
  cluster["collectives"] = {{"point_to_point", {{"step_latency", "50us"}, {"efficiency", 0.5}}}};
  ServingRun priced(serving, cluster);
  const Scenario& s = priced.scenario;
  const net::Route& hop = s.topology->gpu_route(0, 2);
  const double bytes = 1000.0 * static_cast<double>(s.model.hidden_size) * 2 / 2;  // a rank's half
  const Duration extra = net::message_time(hop, bytes, s.collectives.point_to_point) -
                         net::message_time(hop, bytes, {});
  const double want = bare.summary()["ttft"]["max_s"].get<double>() + to_seconds(extra);
  EXPECT_NEAR(priced.summary()["ttft"]["max_s"].get<double>(), want, 1e-9);
  priced.doc.apply_override("/serving/communication=\"flows\"");
  EXPECT_NEAR(priced.summary()["ttft"]["max_s"].get<double>(), want, 200e-9);
}

TEST(ServingParallel, FlowsAgreeWithTheClosedFormWhereReplicasDoNotContend) {
  // Two TP 2 x PP 2 replicas on one NVSwitch: every GPU has its own link to the switch, so the
  // replicas' all-reduces and sends never share one.
  Json serving{{"workload", workload(200, "6/s", {{"type", "uniform"}, {"prompt_min", 64},
                                                  {"prompt_max", 1500}, {"output_min", 1},
                                                  {"output_max", 200}})},
               {"replicas", 2},
               {"tensor_parallel", 2},
               {"pipeline_parallel", 2},
               {"communication", "closed-form"}};
  ServingRun run(serving, nvswitch(8));
  const Json closed = run.summary();
  run.doc.apply_override("/serving/communication=\"flows\"");
  const Json flows = run.summary();
  EXPECT_EQ(flows["requests"], 200);
  for (const char* metric : {"ttft", "tpot", "e2e_latency"}) {
    EXPECT_LT(relative(flows[metric]["mean_s"], closed[metric]["mean_s"]), 1e-5) << metric;
  }
}

TEST(ServingParallel, FlowsSlowDownWhereReplicasShareLinks) {
  // A one-way ring of 4 GPUs: replica 0's all-reduce sends 1 -> 0 the long way round, over the
  // link 2 -> 3 that replica 1 uses too.
  Json cluster{{"gpu", "a100-sxm4-80gb"},
               {"topology", {{"type", "ring"}, {"gpus", 4}, {"bidirectional", false},
                             {"link", {{"bandwidth", "25GB/s"}, {"latency", "2us"}}}}}};
  Json serving{{"workload", workload(100, "8/s", {{"type", "fixed"}, {"prompt", 1024},
                                                  {"output", 16}})},
               {"replicas", 2},
               {"tensor_parallel", 2},
               {"communication", "closed-form"}};
  ServingRun run(serving, cluster);
  const Json closed = run.summary();
  run.doc.apply_override("/serving/communication=\"flows\"");
  const Json flows = run.summary();
  EXPECT_GT(flows["ttft"]["mean_s"].get<double>(), 1.02 * closed["ttft"]["mean_s"].get<double>());
}

TEST(ServingParallel, PipelineStagesOverlapBatches) {
  // Under load a PP 2 replica keeps two batches in flight (one per virtual engine), so its
  // stages are busy together; every scheduler keeps its limits and finishes every request.
  for (const std::string scheduler : {"static", "continuous", "vllm", "chunked_prefill"}) {
    Json serving{{"workload", workload(300, "40/s", {{"type", "uniform"}, {"prompt_min", 16},
                                                     {"prompt_max", 1500}, {"output_min", 1},
                                                     {"output_max", 200}})},
                 {"scheduler", {{"type", scheduler}, {"max_batch_size", 32},
                                {"max_batched_tokens", 2048}}},
                 {"memory", {{"type", "paged"}, {"utilization", 0.3}}},
                 {"pipeline_parallel", 2}};
    ServingRun run(serving, nvswitch(2));
    const Json a = run.summary();
    EXPECT_EQ(a["requests"], 300) << scheduler;
    // One stage at a time would be at most half busy; two virtual engines keep both working.
    EXPECT_GT(a["gpu_busy_fraction"].get<double>(), 0.6) << scheduler;
  }
}

TEST(ServingParallel, ReplicasNeedEnoughGpus) {
  Json serving{{"workload", lone_request(100, 1)}, {"replicas", 3}, {"tensor_parallel", 2}};
  try {
    ServingRun(serving, nvswitch(4)).summary();
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("need 6 GPUs; the topology (/cluster/topology) has 4"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("/serving/replicas"), std::string::npos) << e.what();
  }
}

TEST(ServingPreemption, SwapKeepsTheKvAndCostsPcieTime) {
  // Tight paged memory: sequences are preempted. By swap their K and V go to host memory and
  // come back; by recompute their tokens are computed again.
  Json serving{{"workload", workload(300, "20/s", {{"type", "uniform"}, {"prompt_min", 16},
                                                   {"prompt_max", 1000}, {"output_min", 200},
                                                   {"output_max", 600}})},
               {"scheduler", {{"type", "vllm"}, {"max_batch_size", 64},
                              {"preemption", "swap"}}},
               {"memory", {{"type", "paged"}, {"utilization", 0.19}}}};
  ServingRun swap(serving);
  const Json a = swap.summary();
  EXPECT_EQ(a["requests"], 300);
  EXPECT_GT(a["swaps"].get<int>(), 0);
  EXPECT_EQ(a["swaps"], a["preemptions"]) << "4 GiB of swap space holds every victim here";
  serving["scheduler"]["swap_space"] = "0GiB";
  const Json none = ServingRun(serving).summary();
  EXPECT_EQ(none["swaps"], 0) << "no swap space: every preemption recomputes";
  EXPECT_GT(none["preemptions"].get<int>(), 0);
}

TEST(ServingMetrics, InterTokenLatencyOfALoneRequestIsTheDecodeStep) {
  Json serving{{"workload", lone_request(500, 9)}};
  ServingRun run(serving);
  std::vector<double> times;
  ServingObservers observers;
  observers.token = [&](std::uint64_t, std::int64_t index, double t) {
    EXPECT_EQ(index, static_cast<std::int64_t>(times.size()));
    times.push_back(t);
  };
  const Json a = run.summary(observers);
  ASSERT_EQ(times.size(), 9u);
  EXPECT_EQ(a["itl"]["count"], 8);
  EXPECT_NEAR(a["itl"]["mean_s"].get<double>(), (times.back() - times.front()) / 8, 1e-9);
  EXPECT_NEAR(a["itl"]["mean_s"].get<double>(), a["tpot"]["mean_s"].get<double>(), 1e-9);
}

TEST(ServingRouters, EveryRouterSpreadsTheLoadAndFinishes) {
  for (const std::string& router : routers().names()) {
    Json serving{{"workload", workload(300, "30/s", {{"type", "lognormal"},
                                                     {"prompt_median", 400}, {"prompt_sigma", 1},
                                                     {"output_median", 100}, {"output_sigma", 1},
                                                     {"max_tokens", 4096}})},
                 {"replicas", 3},
                 {"router", {{"type", router}}}};
    ServingRun run(serving);
    std::vector<int> per_replica(3, 0);
    ServingObservers observers;
    observers.request = [&](const RequestRecord& r) { ++per_replica[r.replica]; };
    const Json a = run.summary(observers);
    EXPECT_EQ(a["requests"], 300) << router;
    for (int n : per_replica) EXPECT_GT(n, 50) << router;
  }
}

TEST(ServingWorkload, ZipfLengthsFollowTheLaw) {
  const Json spec{{"requests", 20000},
                  {"arrivals", {{"type", "fixed"}, {"rate", "1/s"}}},
                  {"lengths", {{"type", "zipf"}, {"prompt_min", 10}, {"prompt_max", 19},
                               {"prompt_theta", 1.0}, {"output_min", 1}, {"output_max", 1}}}};
  Workload w(ConfigNode(&spec, "w.json", Json::json_pointer()), RandomStreams(7), 4096);
  std::vector<int> counts(10, 0);
  while (auto r = w.next()) ++counts[static_cast<std::size_t>(r->prompt - 10)];
  double harmonic = 0;
  for (int k = 1; k <= 10; ++k) harmonic += 1.0 / k;
  for (int k = 1; k <= 10; ++k) {
    const double expected = 20000 / (k * harmonic);
    EXPECT_NEAR(counts[static_cast<std::size_t>(k - 1)], expected, 5 * std::sqrt(expected)) << k;
  }
}

TEST(ServingWorkload, EmpiricalLengthsComeFromTheFileRows) {
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/lengths.csv") << "in,out\n100,7\n300,9\n";
  const Json spec{{"requests", 200},
                  {"arrivals", {{"type", "poisson"}, {"rate", "2/s"}}},
                  {"lengths", {{"type", "empirical"}, {"file", dir + "/lengths.csv"},
                               {"prompt_column", "in"}, {"output_column", "out"}}}};
  Workload w(ConfigNode(&spec, "w.json", Json::json_pointer()), RandomStreams(3), 4096);
  int short_ones = 0;
  while (auto r = w.next()) {
    ASSERT_TRUE((r->prompt == 100 && r->output == 7) || (r->prompt == 300 && r->output == 9));
    short_ones += r->prompt == 100;
  }
  EXPECT_GT(short_ones, 70);
  EXPECT_LT(short_ones, 130);
}

}  // namespace kvsim::serving
