// Candidate layouts and their scenarios (see candidates.hpp).
#include "sim/plan/candidates.hpp"

#include <fmt/format.h>

namespace kvsim::plan {
namespace {

// Takes the next digit of a mixed-radix index: the element of `axis` at `rest % size`.
template <class T>
T take(const std::vector<T>& axis, std::size_t& rest) {
  const T value = axis[rest % axis.size()];
  rest /= axis.size();
  return value;
}

// One server (nvswitch) or several joined by a fabric; a layout of one GPU needs no topology.
Json topology(const PlanSpec& spec, const Candidate& c) {
  const std::int64_t per_node = spec.constraints.gpus_per_node;
  if (c.gpus() <= per_node) return Json{{"type", "nvswitch"}, {"gpus", c.gpus()}};
  return Json{{"type", "multi-node"},
              {"nodes", nodes_needed(spec, c)},
              {"gpus_per_node", per_node}};
}

}  // namespace

std::string PoolLayout::label() const {
  return fmt::format("{}P({} x{}):{}D(tp{})", prefill_instances, strategy.label, prefill_gpus,
                     decode_instances, decode_tensor_parallel);
}

std::string Candidate::label() const {
  if (disaggregated) {
    return fmt::format("{} {} {} b{} {} {}", model, gpu.name, pools.label(), max_batch_size,
                       pools.transfer, pools.policy);
  }
  return fmt::format("{} {} {}x(tp{} pp{}){} {} b{} t{} {} kv{} u{}{}", model, gpu.name, replicas,
                     tensor_parallel, pipeline_parallel, expert_parallel ? " ep" : "", scheduler,
                     max_batch_size, max_batched_tokens, preemption, block_size, utilization,
                     drafter.config.is_null() ? "" : " " + drafter.label);
}

std::string Candidate::family() const {
  if (disaggregated) {
    return fmt::format("{} {} P({} x{}) D(tp{})", model, gpu.name, pools.strategy.label,
                       pools.prefill_gpus, pools.decode_tensor_parallel);
  }
  return fmt::format("{} {} tp{} pp{}", model, gpu.name, tensor_parallel, pipeline_parallel);
}

Json Candidate::to_json() const {
  Json j{{"index", index},
         {"model", model},
         {"gpu", gpu.name},
         {"price_per_gpu_hour", gpu.price_per_hour},
         {"tensor_parallel", tensor_parallel},
         {"pipeline_parallel", pipeline_parallel},
         {"replicas", replicas},
         {"expert_parallel", expert_parallel},
         {"gpus", gpus()},
         {"scheduler", scheduler},
         {"max_batch_size", max_batch_size},
         {"max_batched_tokens", max_batched_tokens},
         {"preemption", preemption},
         {"block_size", block_size},
         {"utilization", utilization},
         {"cost_per_hour", cost_per_hour()},
         {"layout", disaggregated ? pools.label() : "colocated"},
         {"drafter", drafter.label},
         {"draft_tokens", drafter.k}};
  if (!disaggregated) return j;
  // The colocated settings do not apply to pools (serving refuses them with disaggregation).
  for (const char* key : {"tensor_parallel", "pipeline_parallel", "replicas", "expert_parallel",
                          "scheduler", "max_batched_tokens", "preemption", "block_size",
                          "utilization", "drafter", "draft_tokens"}) {
    j[key] = nullptr;
  }
  j["prefill_instances"] = pools.prefill_instances;
  j["prefill_gpus"] = pools.prefill_gpus;
  j["prefill_strategy"] = pools.strategy.label;
  j["decode_instances"] = pools.decode_instances;
  j["decode_tensor_parallel"] = pools.decode_tensor_parallel;
  j["transfer"] = pools.transfer;
  j["policy"] = pools.policy;
  return j;
}

namespace {

// The colocated grid's digit `rest`: the last axis varies fastest, so it is taken first.
void colocated(const SearchSpace& a, std::size_t rest, Candidate& c) {
  c.drafter = take(a.drafters, rest);
  c.expert_parallel = take(a.expert_parallel, rest);
  c.utilization = take(a.utilization, rest);
  c.block_size = take(a.block_size, rest);
  c.preemption = take(a.preemption, rest);
  c.max_batched_tokens = take(a.max_batched_tokens, rest);
  c.max_batch_size = take(a.max_batch_size, rest);
  c.scheduler = take(a.schedulers, rest);
  c.replicas = take(a.replicas, rest);
  c.pipeline_parallel = take(a.pipeline_parallel, rest);
  c.tensor_parallel = take(a.tensor_parallel, rest);
}

// The disaggregated grid's digit `rest`, the policy fastest.
void disaggregated(const PoolSpace& a, std::size_t rest, Candidate& c) {
  c.disaggregated = true;
  PoolLayout& p = c.pools;
  p.policy = take(a.policies, rest);
  p.transfer = take(a.transfers, rest);
  c.max_batch_size = take(a.decode_max_batch_size, rest);
  p.decode_tensor_parallel = take(a.decode_tensor_parallel, rest);
  p.decode_instances = take(a.decode_instances, rest);
  p.strategy = take(a.prefill_strategies, rest);
  p.prefill_gpus = take(a.prefill_gpus, rest);
  p.prefill_instances = take(a.prefill_instances, rest);
}

}  // namespace

Candidate candidate(const PlanSpec& spec, std::size_t index) {
  const SearchSpace& a = spec.space;
  Candidate c;
  c.index = index;
  const std::size_t per_gpu = a.colocated_count() + a.disaggregated_count();
  const std::size_t within = index % per_gpu;
  std::size_t rest = index / per_gpu;
  c.gpu = take(a.gpus, rest);
  c.model = take(a.models, rest);
  if (within < a.colocated_count()) {
    colocated(a, within, c);
  } else {
    disaggregated(a.pools, within - a.colocated_count(), c);
  }
  return c;
}

std::int64_t nodes_needed(const PlanSpec& spec, const Candidate& c) {
  const std::int64_t per_node = spec.constraints.gpus_per_node;
  return (c.gpus() + per_node - 1) / per_node;
}

namespace {

// The serving section's layout: colocated replicas with their scheduler, memory and drafter,
// or the disaggregated pools (which replace all of those).
void serving_layout(const PlanSpec& spec, const Candidate& c, Json& serving) {
  if (c.disaggregated) {
    const PoolLayout& p = c.pools;
    serving["disaggregation"] = {
        {"prefill", {{"instances", p.prefill_instances}, {"gpus", p.prefill_gpus},
                     {"strategy", p.strategy.config}, {"bucket", spec.space.pools.bucket}}},
        {"decode", {{"instances", p.decode_instances},
                    {"tensor_parallel", p.decode_tensor_parallel},
                    {"max_batch_size", c.max_batch_size}}},
        {"transfer", p.transfer},
        {"policy", {{"type", p.policy}}}};
    return;
  }
  serving["replicas"] = c.replicas;
  serving["tensor_parallel"] = c.tensor_parallel;
  serving["pipeline_parallel"] = c.pipeline_parallel;
  serving["router"] = {{"type", spec.router}};
  serving["scheduler"] = {{"type", c.scheduler},
                          {"max_batch_size", c.max_batch_size},
                          {"max_batched_tokens", c.max_batched_tokens},
                          {"preemption", c.preemption}};
  serving["memory"] = {{"type", "paged"}, {"block_size", c.block_size},
                       {"utilization", c.utilization}};
  if (c.expert_parallel) serving["expert_parallel"] = true;
  if (!c.drafter.config.is_null()) serving["drafter"] = c.drafter.config;
}

}  // namespace

ConfigDocument scenario_document(const PlanSpec& spec, const Candidate& c, double rate) {
  Json workload = spec.workload;
  workload["arrivals"]["rate"] = fmt::format("{:.17g}/s", rate);
  Json serving{{"workload", std::move(workload)}};
  serving_layout(spec, c, serving);
  if (spec.slo.ttft_s) serving["slo"]["ttft"] = fmt::format("{:.17g}s", *spec.slo.ttft_s);
  if (spec.slo.tpot_s) serving["slo"]["tpot"] = fmt::format("{:.17g}s", *spec.slo.tpot_s);
  Json cluster{{"gpu", c.gpu.name}};
  if (c.gpus() > 1) cluster["topology"] = topology(spec, c);
  Json s{{"name", fmt::format("{} #{}: {}", spec.name, c.index, c.label())},
         {"seed", spec.seed},
         {"model", c.model},
         {"cluster", std::move(cluster)},
         {"compute", spec.compute},
         {"serving", std::move(serving)}};
  if (!spec.precision.is_null()) s["precision"] = spec.precision;
  return ConfigDocument(std::move(s), spec.file);
}

}  // namespace kvsim::plan
