#pragma once
// Plans for the tests, written inline: a plan document from JSON text, and a whole plan run.
#include <string>

#include "sim/plan/report.hpp"

namespace kvsim::plan::test {

inline ConfigDocument plan_document(const Json& j) {
  return ConfigDocument(j, std::string(KVSIM_SOURCE_DIR) + "/tests/plan/inline.json");
}

struct PlanRun {
  PlanSpec spec;
  Screened screened;
  std::vector<Json> evaluations;
  PlanReport report;
};

inline PlanRun run(const Json& j) {
  PlanRun r;
  r.spec = load_plan(plan_document(j));
  r.screened = screen_all(r.spec);
  r.evaluations = evaluate_all(r.spec, r.screened, {});
  r.report = build_report(r.spec, r.screened, r.evaluations);
  return r;
}

/// A small chat plan: Llama-3.2-1B on A100 or H100, one to four replicas of tp 1 or 2.
inline Json chat_plan() {
  return Json::parse(R"({
    "name": "test-chat", "seed": 3, "model": "llama-3.2-1b",
    "workload": { "requests": 400, "arrivals": { "type": "poisson", "rate": "8/s" },
                  "lengths": { "type": "lognormal", "prompt_median": 512, "prompt_sigma": 0.5,
                               "output_median": 64, "output_sigma": 0.5 } },
    "slo": { "ttft_p99": "150ms", "tpot_p50": "20ms" },
    "gpus": ["a100-sxm4-80gb", "h100-sxm"],
    "search": { "tensor_parallel": [1, 2], "replicas": [1, 2, 4] },
    "rate_tolerance": 0.1
  })");
}

}  // namespace kvsim::plan::test
