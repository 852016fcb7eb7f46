#pragma once
// Candidate layouts of a plan: index i of the search space's grid product (the first axis,
// models, varying slowest), and the scenario document that serves the plan's workload on it.
// Per model and GPU the colocated grid comes first (its last axis, the drafter, fastest), then
// the disaggregated grid (prefill instances slowest ... policy fastest): a plan without the new
// axes numbers its candidates as before.
// Who calls it: the screening and the evaluation of a plan (sim/plan), and kvsim plan's output
// of the chosen layout's scenario. Pure functions of the plan and the index.

#include <cstdint>
#include <string>

#include "sim/core/config.hpp"
#include "sim/plan/plan_spec.hpp"

namespace kvsim::plan {

/// A disaggregated layout's pools (sim/serving/disaggregation/pools.hpp).
struct PoolLayout {
  std::int64_t prefill_instances = 1, prefill_gpus = 1;
  PrefillStrategyOption strategy;
  std::int64_t decode_instances = 1, decode_tensor_parallel = 1;
  std::string transfer = "whole";
  std::string policy = "join-shortest-queue";

  std::int64_t prefill_pool_gpus() const { return prefill_instances * prefill_gpus; }
  std::int64_t decode_pool_gpus() const { return decode_instances * decode_tensor_parallel; }
  /// "3P(tp x2):5D(tp1)": prefill instances (strategy x GPUs each) : decode instances (tp).
  std::string label() const;
};

struct Candidate {
  std::size_t index = 0;
  std::string model;
  GpuOption gpu;
  std::int64_t tensor_parallel = 1, pipeline_parallel = 1, replicas = 1;
  std::string scheduler;
  std::int64_t max_batch_size = 0, max_batched_tokens = 0;
  std::string preemption;
  std::int64_t block_size = 16;
  double utilization = 0.9;
  bool expert_parallel = false;
  DrafterOption drafter;        // colocated: speculative decoding, or none
  bool disaggregated = false;   // prefill and decode pools instead of replicas
  PoolLayout pools;             // when disaggregated (max_batch_size is the decode pool's)

  /// Every GPU the layout takes: both pools, or the replicas with their drafters' own GPUs.
  std::int64_t gpus() const {
    if (disaggregated) return pools.prefill_pool_gpus() + pools.decode_pool_gpus();
    return (tensor_parallel * pipeline_parallel + drafter.own_gpus) * replicas;
  }
  double cost_per_hour() const { return static_cast<double>(gpus()) * gpu.price_per_hour; }
  /// "h100-sxm 2x(tp4 pp1)" or "h100-sxm 3P(tp x2):5D(tp1)": what the tables show first.
  std::string label() const;
  /// The layout family of the figures: model, GPU and tp x pp (replicas vary within it); for
  /// pools, the prefill strategy and GPUs and the decode tp (instance counts vary within it).
  std::string family() const;
  /// The candidate's settings as a JSON object (the columns of plan.csv).
  Json to_json() const;
};

/// Candidate `index` (0 <= index < spec.candidate_count()).
Candidate candidate(const PlanSpec& spec, std::size_t index);

/// Servers a layout occupies under the plan's constraints (GPUs per node, rounded up).
std::int64_t nodes_needed(const PlanSpec& spec, const Candidate& c);

/// The scenario that serves the plan's workload at `rate` (requests/s) on the layout.
ConfigDocument scenario_document(const PlanSpec& spec, const Candidate& c, double rate);

}  // namespace kvsim::plan
