#pragma once
// A capacity plan: the traffic, the latency targets, the candidate GPUs and the layouts to
// search, read from a plan file (kvsim plan PLAN.json; see README "Capacity planning").
//
//   {
//     "name": "chat-8b", "seed": 1,
//     "models": ["llama-3-8b"],                        // or "model": "llama-3-8b"
//     "compute": { "type": "roofline" },               // the scenario "compute" of every layout
//     "workload": { "requests": 10000,                 // a serving workload (sim/serving)
//                   "arrivals": { "type": "poisson", "rate": "20/s" },   // the target rate
//                   "lengths": { ... } },
//     "slo": { "ttft_p99": "2s", "tpot_p90": "100ms",  // <metric>_<stat>: a limit on a statistic
//              "attainment": { "ttft": "2s", "tpot": "100ms", "share": 0.9 } },
//     "gpus": ["h100-sxm", { "name": "a100-sxm4-80gb", "price_per_hour": 1.5 }],
//     "constraints": { "max_gpus": 64, "max_nodes": 8, "gpus_per_node": 8,
//                      "topology": "multi-node" },
//     "search": { "tensor_parallel": [1, 2, 4, 8], "replicas": [1, 2, 4], ... },
//     "rate_tolerance": 0.05,
//     "shortcuts": { "estimate_from_fewer_replicas": true, "reuse_equivalent_layouts": true },
//     "pareto_metric": "ttft_p99"
//   }
//
// Metrics: ttft, tpot, itl, e2e; statistics: mean, p50, p90, p99 (seconds as durations). The
// target rate is the workload's arrival rate; the arrivals must be poisson, gamma or fixed, whose
// times scale with the rate (the same seed draws the same gaps: common random numbers).
// Who calls it: kvsim plan (tools/kvsim/cmd_plan.cpp) and the tests; load_plan throws
// InputError naming the file and JSON pointer.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/config.hpp"

namespace kvsim::plan {

/// A limit on one statistic of one latency metric: ttft_p99 <= 2 s.
struct SloLimit {
  std::string key;     // "ttft_p99"
  std::string metric;  // ttft, tpot, itl, e2e
  std::string stat;    // mean, p50, p90, p99
  double seconds = 0;
};

struct SloSpec {
  std::vector<SloLimit> limits;  // in key order
  // "attainment": the share of requests whose own TTFT and TPOT meet these (serving's goodput).
  std::optional<double> ttft_s, tpot_s;
  double share = 0;  // 0: no attainment target
  bool has_attainment() const { return share > 0; }
};

struct GpuOption {
  std::string name;
  double price_per_hour = 0;  // US dollars per GPU-hour
  std::string price_source;   // where the price came from ("user" for an override)
};

struct Constraints {
  std::int64_t max_gpus = 64;
  std::int64_t max_nodes = 8;
  std::int64_t gpus_per_node = 8;
  std::string topology = "multi-node";  // or "nvswitch": one server
};

/// The axes of the layout search; a candidate is one value of each (grid product).
struct SearchSpace {
  std::vector<std::string> models;
  std::vector<GpuOption> gpus;
  std::vector<std::int64_t> tensor_parallel{1, 2, 4, 8};
  std::vector<std::int64_t> pipeline_parallel{1};
  std::vector<std::int64_t> replicas{1, 2, 4, 8};
  std::vector<std::string> schedulers{"vllm"};
  std::vector<std::int64_t> max_batch_size{256};
  std::vector<std::int64_t> max_batched_tokens{4096};
  std::vector<std::string> preemption{"recompute"};
  std::vector<std::int64_t> block_size{16};
  std::vector<double> utilization{0.9};
  std::vector<bool> expert_parallel{false};
};

struct PlanSpec {
  std::string name;
  std::string description;
  std::string file;
  std::uint64_t seed = 1;
  Json workload;          // the serving workload, its arrivals at the target rate
  double rate = 0;        // target requests per second
  Json compute;           // the scenario "compute" section of every layout
  Json precision;         // the scenario "precision" section, or null
  std::string router = "least-outstanding";
  SloSpec slo;
  Constraints constraints;
  SearchSpace space;
  double rate_tolerance = 0.05;  // the rate search stops when hi / lo <= 1 + this
  // Search shortcuts (evaluation.hpp), each giving the same answer with fewer simulations.
  bool estimate_from_fewer_replicas = true;  // start the rate search at a smaller layout's rate
  bool reuse_equivalent_layouts = true;      // share provably identical runs (equivalence.hpp)
  std::string pareto_metric = "ttft_p99";
  Json resolved;  // the plan file as read (with --set overrides applied)

  std::size_t candidate_count() const;
};

/// Reads a plan file; throws InputError naming the file and pointer.
PlanSpec load_plan(const ConfigDocument& document);

/// The value of `key` ("ttft_p99") in a serving summary, in seconds; null where undefined.
Json slo_statistic(const Json& summary, const std::string& metric, const std::string& stat);

}  // namespace kvsim::plan
