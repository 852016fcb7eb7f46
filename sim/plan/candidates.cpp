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

std::string Candidate::label() const {
  return fmt::format("{} {} {}x(tp{} pp{}){} {} b{} t{} {} kv{} u{}", model, gpu.name, replicas,
                     tensor_parallel, pipeline_parallel, expert_parallel ? " ep" : "", scheduler,
                     max_batch_size, max_batched_tokens, preemption, block_size, utilization);
}

std::string Candidate::family() const {
  return fmt::format("{} {} tp{} pp{}", model, gpu.name, tensor_parallel, pipeline_parallel);
}

Json Candidate::to_json() const {
  return Json{{"index", index},
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
              {"cost_per_hour", cost_per_hour()}};
}

// The last axis varies fastest, so digits are taken from the last axis first.
Candidate candidate(const PlanSpec& spec, std::size_t index) {
  const SearchSpace& a = spec.space;
  Candidate c;
  c.index = index;
  std::size_t rest = index;
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
  c.gpu = take(a.gpus, rest);
  c.model = take(a.models, rest);
  return c;
}

std::int64_t nodes_needed(const PlanSpec& spec, const Candidate& c) {
  const std::int64_t per_node = spec.constraints.gpus_per_node;
  return (c.gpus() + per_node - 1) / per_node;
}

ConfigDocument scenario_document(const PlanSpec& spec, const Candidate& c, double rate) {
  Json workload = spec.workload;
  workload["arrivals"]["rate"] = fmt::format("{:.17g}/s", rate);
  Json serving{{"workload", std::move(workload)},
               {"replicas", c.replicas},
               {"tensor_parallel", c.tensor_parallel},
               {"pipeline_parallel", c.pipeline_parallel},
               {"router", {{"type", spec.router}}},
               {"scheduler",
                {{"type", c.scheduler},
                 {"max_batch_size", c.max_batch_size},
                 {"max_batched_tokens", c.max_batched_tokens},
                 {"preemption", c.preemption}}},
               {"memory", {{"type", "paged"}, {"block_size", c.block_size},
                           {"utilization", c.utilization}}}};
  if (c.expert_parallel) serving["expert_parallel"] = true;
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
