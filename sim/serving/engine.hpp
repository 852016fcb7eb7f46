#pragma once
// The serving simulation: requests arrive, a router sends each to a replica, and each replica
// runs iterations chosen by its batching scheduler over its KV memory manager. An iteration's
// time is the compute model's cost of its batch: the linear layers over all its new tokens,
// attention per sequence at its own KV length, the LM head for the sequences that emit a token,
// plus a fixed host overhead.
//
//   "serving": {
//     "workload": { ... see workload.hpp ... },
//     "scheduler": { "type": "vllm", "max_batch_size": 256, "max_batched_tokens": 4096 },
//     "memory": { "type": "paged", "block_size": 16, "utilization": 0.9 },
//     "replicas": 1, "router": "round-robin",
//     "host_overhead": "0us",
//     "slo": { "ttft": "2s", "tpot": "100ms" }
//   }
//
// Schedulers: static (request-level batches run to completion), continuous (Orca: requests
// join and leave every iteration, prefills and decodes mixed), vllm (prefill first, decode
// otherwise; when a block is missing the newest sequence is preempted and recomputed),
// chunked_prefill (Sarathi-Serve: a token budget per iteration, decodes first, prompts in
// chunks). Memory: contiguous (reserves the maximum sequence length per request up front) or
// paged (blocks allocated as tokens arrive). One GPU per replica (TP 1) for now.

#include <functional>
#include <memory>

#include "sim/scenario/scenario.hpp"
#include "sim/serving/metrics.hpp"
#include "sim/serving/workload.hpp"

namespace kvsim::serving {

struct ServingConfig {
  std::string scheduler = "vllm";
  std::int64_t max_batch_size = 256;
  std::int64_t max_batched_tokens = 4096;
  std::string memory = "paged";
  std::int64_t block_size = 16;
  double utilization = 0.9;
  std::int64_t max_sequence = 0;  // contiguous reservation per request (default: model context)
  int replicas = 1;
  std::string router = "round-robin";
  Duration host_overhead{0};
  std::optional<double> ttft_slo;  // seconds
  std::optional<double> tpot_slo;

  static ServingConfig from_config(const ConfigNode& node);
  Json to_json() const;
};

/// One finished request, for the optional per-request CSV.
struct RequestRecord {
  std::uint64_t id;
  double arrival, scheduled, first_token, completion;  // seconds
  std::int64_t prompt, output;
  int preemptions;
};

struct ServingResult {
  Json summary;  // aggregates, as written to summary.json
};

/// Runs the workload to completion. `on_request` (optional) sees each finished request, in
/// completion order.
ServingResult simulate_serving(const Scenario& scenario, const ServingConfig& config,
                               Workload workload,
                               const std::function<void(const RequestRecord&)>& on_request);

}  // namespace kvsim::serving
