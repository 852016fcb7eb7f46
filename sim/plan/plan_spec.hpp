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
//     "search": { "tensor_parallel": [1, 2, 4, 8], "replicas": [1, 2, 4], ...,
//                 "drafter": ["none", { "type": "eagle", "acceptance": 0.7 }],  // speculation
//                 "draft_tokens": [2, 4],                 // k of each drafter that gives none
//                 "layout": ["colocated", "disaggregated"],                    // default colocated
//                 "disaggregated": { "prefill": { "instances": [1, 2], "gpus": [2, 4],
//                                                 "strategy": [{ "type": "tp" }], "bucket": 1 },
//                                    "decode": { "instances": [2, 4], "tensor_parallel": [1],
//                                                "max_batch_size": [256] },
//                                    "transfer": ["whole"],
//                                    "policy": [{ "type": "join-shortest-queue" }] } },
//     "rate_tolerance": 0.05,
//     "shortcuts": { "estimate_from_fewer_replicas": true, "reuse_equivalent_layouts": true },
//     "pareto_metric": "ttft_p99"
//   }
//
// Metrics: ttft, tpot, itl, e2e; statistics: mean, p50, p90, p99 (seconds as durations). The
// target rate is the workload's arrival rate; the arrivals must be poisson, gamma or fixed, whose
// times scale with the rate (the same seed draws the same gaps: common random numbers).
// Layouts: colocated candidates are the grid product of the colocated axes (tensor_parallel ...
// expert_parallel, drafter x draft_tokens); disaggregated ones (sim/serving/disaggregation) the
// product of search.disaggregated's axes, which replace the colocated ones (serving refuses
// those keys with disaggregation, and a drafter too). Both grids are taken per model and GPU.
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

/// One value of the speculative-decoding axis: no drafter, or a drafter with its k.
struct DrafterOption {
  Json config;               // the scenario's serving/drafter, "k" included; null: no drafter
  std::string label;         // "none", "eagle k4"
  std::int64_t own_gpus = 0; // GPUs each replica's drafter takes beside the replica's
  std::int64_t k = 0;        // draft tokens per step (0: none)
};

/// One value of the prefill strategy axis of disaggregated layouts.
struct PrefillStrategyOption {
  Json config;        // the scenario's serving/disaggregation/prefill/strategy
  std::string label;  // the strategy's own label: "tp", "kvr/search", "ring/auto"
};

/// The axes of disaggregated layouts (search.disaggregated); their own grid product.
struct PoolSpace {
  std::vector<std::int64_t> prefill_instances{1};
  std::vector<std::int64_t> prefill_gpus{1};  // per prefill instance
  std::vector<PrefillStrategyOption> prefill_strategies{{Json{{"type", "tp"}}, "tp"}};
  std::vector<std::int64_t> decode_instances{1};
  std::vector<std::int64_t> decode_tensor_parallel{1};
  std::vector<std::int64_t> decode_max_batch_size{256};
  std::vector<std::string> transfers{"whole"};
  std::vector<std::string> policies{"join-shortest-queue"};
  std::int64_t bucket = 1;  // tokens: prefill priced at prompts rounded up to it (not an axis)

  std::size_t count() const;
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
  std::vector<DrafterOption> drafters{{Json(nullptr), "none", 0, 0}};
  bool colocated = true;       // search.layout holds "colocated"
  bool disaggregated = false;  // search.layout holds "disaggregated"
  PoolSpace pools;

  /// Colocated candidates per model and GPU (0 when layout leaves colocated out).
  std::size_t colocated_count() const;
  /// Disaggregated candidates per model and GPU (0 unless layout holds "disaggregated").
  std::size_t disaggregated_count() const;
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

/// Reads search.layout, search.disaggregated, search.drafter and search.draft_tokens into
/// p.space (plan_axes.cpp); `search` is the plan's "search" object. Throws InputError.
void read_layout_axes(const ConfigNode& search, PlanSpec& p);

/// The value of `key` ("ttft_p99") in a serving summary, in seconds; null where undefined.
Json slo_statistic(const Json& summary, const std::string& metric, const std::string& stat);

}  // namespace kvsim::plan
