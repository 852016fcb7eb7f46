#pragma once
// The serving simulation: requests arrive, a router sends each to a replica, and each replica
// runs iterations chosen by its batching scheduler over its KV memory manager.
//
//   "serving": {
//     "workload":  { ... see workload.hpp ... },
//     "scheduler": { "type": "vllm", "max_batch_size": 256, "max_batched_tokens": 4096,
//                    "preemption": "recompute" },
//     "memory":    { "type": "paged", "block_size": 16, "utilization": 0.9 },
//     "router":    { "type": "round-robin" },
//     "replicas": 2, "tensor_parallel": 2, "pipeline_parallel": 1, "expert_parallel": false,
//     "data_parallel_attention": false,
//     "communication": "closed-form",
//     "host_overhead": "0us",
//     "slo": { "ttft": "2s", "tpot": "100ms" }
//   }
//
// A replica is tensor_parallel x pipeline_parallel GPUs of the topology: replica r, stage s,
// rank t is GPU (r x pp + s) x tp + t. Each stage runs its share of the layers (the first also
// the embedding, the last the LM head and sampling); under tensor parallelism each layer ends
// its attention and its MLP with an all-reduce of the tokens' hidden states (one per layer for
// parallel-attention models; with "expert_parallel" a MoE model's routed experts are split over
// the tp ranks (true) or over that many groups of tp / count ranks (each expert sharded over
// its group: expert-TP) instead of sharded, each rank computing its experts' tokens of the
// replicated batch, and the MLP's all-reduce combines them); between stages each rank sends its 1/tp share of the hidden
// states to its peer. With "data_parallel_attention" the tp GPUs are instead attention ranks,
// each with its own requests and KV (sim/serving/dp_attention.hpp). Communication is costed in closed form over each route's bottleneck with
// the scenario's collective protocols ("closed-form", fast, no contention), or run as flows on
// the shared network with the scenario's background traffic ("flows": replicas contend for
// links). A replica of pipeline_parallel p runs p schedulers (vLLM's virtual engines), each with
// its own requests and 1/p of the KV memory; when the first stage frees, the next of them with
// no batch in flight starts one, so up to p batches are in flight, none sharing a sequence.
//
// Iteration time per stage: host overhead and swap copies (first stage), the compute model's
// cost of the batch's operations on one GPU, and the communication.
//
// Who calls it: kvsim serve, sweep points (sim/sweep) and replay (sim/compare), once per run.
// Each call makes its own event queue and holds no state after it returns, so runs may go on
// several threads at once. It takes the KV memories out of `setup` (each replica owns its
// stages') and streams the workload: requests are never all held in memory. Times in summaries
// and observers are seconds (doubles) from the start of simulated time; KV memory is in tokens.
// The code: engine.cpp (arrivals, rejection, the client limit, routing, timeline, totals,
// warnings) and replica.hpp (one replica's stages, engines, batches and completions).

#include <functional>
#include <memory>
#include <optional>

#include "sim/scenario/scenario.hpp"
#include "sim/serving/memory.hpp"
#include "sim/serving/metrics.hpp"
#include "sim/serving/router.hpp"
#include "sim/serving/scheduler.hpp"
#include "sim/serving/workload.hpp"

namespace kvsim::serving {
namespace speculative {
class Speculation;
}
namespace disaggregation {
struct Disaggregation;
}

/// Most replicas, and most tensor- or pipeline-parallel GPUs per replica: a topology's GPUs.
inline constexpr std::int64_t kMaxServingGpus = 4096;

/// The cluster and policies of a "serving" section, built and checked against the scenario.
struct ServingSetup {
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<Router> router;
  std::vector<std::unique_ptr<KvMemory>> memories;  // per replica, one per pipeline stage
  KvBudget budget;                                  // per GPU of a replica
  int replicas = 1;
  int tensor_parallel = 1;
  int pipeline_parallel = 1;
  ExpertParallel expert_parallel;  // a MoE model's routed experts over each stage's tp ranks
  /// The expert-parallel degree (1: off; each expert sharded over tp / degree ranks).
  int expert_degree() const {
    return static_cast<int>(expert_parallel.over(tensor_parallel));
  }
  // "data_parallel_attention" (sim/serving/dp_attention.hpp): each of a replica's
  // tensor_parallel GPUs is an attention rank with its own scheduler state and KV memory, the
  // routed experts split over all of them; the ranks' batches run as one iteration.
  bool data_parallel_attention = false;
  /// Schedulers and KV memories per replica: one per attention rank, else per pipeline stage.
  int engines_per_replica() const {
    return data_parallel_attention ? tensor_parallel : pipeline_parallel;
  }
  bool flows = false;  // communication as flows on the network (else closed form)
  bool flows_fast_path = true;  // tests: false runs even link-exclusive stages flow by flow
  Duration host_overhead{0};
  std::optional<double> ttft_slo;  // seconds
  std::optional<double> tpot_slo;
  std::shared_ptr<speculative::Speculation> speculation;  // "drafter": speculative decoding
  // "disaggregation": prefill and decode pools (sim/serving/disaggregation/pools.hpp); null for
  // colocated replicas. Its decode pool sets replicas and tensor_parallel (and so the budget).
  std::shared_ptr<disaggregation::Disaggregation> disaggregation;
  Json resolved;

  /// Reads `node` (the "serving" object, without its workload); throws InputError.
  static ServingSetup from_config(const ConfigNode& node, const Scenario& scenario);
  /// GPUs of replica r's stage s, in rank order.
  std::vector<int> stage_gpus(int replica, int stage) const;
};

/// One finished request, for the optional per-request CSV.
struct RequestRecord {
  std::uint64_t id;
  int replica;
  double arrival, scheduled, first_token, completion;  // seconds
  std::int64_t prompt, output;
  int preemptions;
};

/// A replica's state at a moment, for the optional timeline CSV.
struct TimelineSample {
  double time;  // seconds
  int replica;
  std::size_t waiting, running;
  std::int64_t kv_used, kv_held, kv_capacity;  // tokens
};

/// One batch's pass through one pipeline stage of a replica, for the optional trace.
struct IterationRecord {
  int replica, stage;
  std::int64_t start_ns, end_ns;  // from the start of simulated time
  std::int64_t prefill_tokens;    // new prompt tokens (whole prompts or chunks)
  std::int64_t prefills, decodes;  // sequences prefilling, and decoding one token each
};

/// Most timeline samples (each a row per replica) one run may write.
inline constexpr std::uint64_t kMaxTimelineSamples = 10'000'000;

struct ServingObservers {
  std::function<void(const RequestRecord&)> request;  // each finished request
  std::function<void(std::uint64_t id, std::int64_t index, double time)> token;  // each token
  std::function<void(const TimelineSample&)> timeline;  // every replica, every interval
  std::function<void(const IterationRecord&)> iteration;  // each stage pass of each batch
  Duration timeline_interval = from_seconds(1.0);
};

struct ServingResult {
  Json summary;  // aggregates, as written to summary.json
};

/// Runs the workload to completion. A request whose prompt + output exceeds the model's context
/// is rejected on arrival (as vLLM answers it with an error): counted in summary "rejected",
/// never routed. summary "warnings" holds the scenario's warnings and the run's (rejected and
/// truncated requests). Throws InputError when a request can never fit a replica's KV memory.
ServingResult simulate_serving(const Scenario& scenario, ServingSetup& setup, Workload workload,
                               const ServingObservers& observers = {});

}  // namespace kvsim::serving
