// Serving: conformance of every scheduler and memory manager (limits kept, every request
// completes, deterministic), closed forms for a lone request, and M/D/1 queueing at light load.
#include <cmath>

#include <gtest/gtest.h>

#include "sim/serving/engine.hpp"

namespace kvsim::serving {
namespace {

struct ServingRun {
  ConfigDocument doc;
  Scenario scenario;
  ServingConfig config;
  explicit ServingRun(Json serving)
      : doc(Json{{"model", "llama-2-7b"},
                 {"cluster", {{"gpu", "a100-sxm4-80gb"}}},
                 {"compute", {{"type", "roofline"}}},
                 {"serving", std::move(serving)}},
            "serving.json"),
        scenario(load_scenario(doc)),
        config(ServingConfig::from_config(doc.root().at("serving"))) {}
  Json summary() {
    Workload w(doc.root().at("serving").at("workload"), RandomStreams(scenario.seed),
               scenario.model.max_context);
    return simulate_serving(scenario, config, std::move(w), nullptr).summary;
  }
};

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
  // Tight memory (5% of HBM for everything) and bursty arrivals force queueing and preemption.
  for (const std::string scheduler : {"static", "continuous", "vllm", "chunked_prefill"}) {
    for (const std::string memory : {"contiguous", "paged"}) {
      Json serving{{"workload", workload(300, "20/s", {{"type", "uniform"}, {"prompt_min", 16},
                                                       {"prompt_max", 2000}, {"output_min", 1},
                                                       {"output_max", 400}})},
                   {"scheduler", {{"type", scheduler}, {"max_batch_size", 32},
                                  {"max_batched_tokens", 2048}}},
                   {"memory", {{"type", memory}, {"utilization", 0.2}}}};
      ServingRun run(serving);
      const Json a = run.summary();  // the engine throws if a limit is broken
      EXPECT_EQ(a["requests"], 300) << scheduler << " " << memory;
      EXPECT_EQ(a.dump(), run.summary().dump()) << "deterministic: " << scheduler << " " << memory;
    }
  }
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
