// Screening a candidate before simulation (see screening.hpp).
#include "sim/plan/screening.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "models/catalog/catalog.hpp"
#include "sim/plan/screening_pools.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::plan {
namespace {

// The constraints of the plan file, checked without building anything.
std::string constraint_violation(const PlanSpec& spec, const Candidate& c) {
  const Constraints& k = spec.constraints;
  if (c.gpus() > k.max_gpus) {
    return fmt::format("needs {} GPUs; constraints.max_gpus is {}", c.gpus(), k.max_gpus);
  }
  if (k.topology == "nvswitch" && c.gpus() > k.gpus_per_node) {
    return fmt::format("needs {} GPUs; one server (constraints.topology nvswitch) has {}",
                       c.gpus(), k.gpus_per_node);
  }
  if (nodes_needed(spec, c) > k.max_nodes) {
    return fmt::format("needs {} servers of {} GPUs; constraints.max_nodes is {}",
                       nodes_needed(spec, c), k.gpus_per_node, k.max_nodes);
  }
  return {};
}

// The roofline bound of screening.hpp, in requests per second.
void throughput_bound(const Scenario& s, const WorkloadStats& w, const Candidate& c,
                      Screening& out) {
  const LlmSpec& m = s.model;
  const double gpus_per_replica = static_cast<double>(c.tensor_parallel * c.pipeline_parallel);
  const double replicas = static_cast<double>(c.replicas);
  const double active = static_cast<double>(m.active_parameters());
  const double peak = std::max(s.gpu.peak_flops(s.precision.weights),
                               s.gpu.peak_flops(s.precision.activations));
  double compute = std::numeric_limits<double>::infinity();
  if (peak > 0) {
    compute = replicas * gpus_per_replica * peak /
              (2 * active * (w.mean_prompt + w.mean_output));
  }
  double bandwidth = std::numeric_limits<double>::infinity();
  const double active_bytes = m.weight_bytes(s.precision) * active /
                              static_cast<double>(m.parameters());
  if (w.mean_output > 1) {
    bandwidth = replicas * static_cast<double>(c.max_batch_size) * gpus_per_replica *
                s.gpu.hbm_bandwidth / (active_bytes * (w.mean_output - 1)) *
                static_cast<double>(1 + c.drafter.k);
  }
  out.rate_bound = std::min(compute, bandwidth);
  out.bound_by = compute <= bandwidth ? "compute" : "memory bandwidth";
}

void prune(Screening& out, const char* kind, std::string reason) {
  out.pruned_kind = kind;
  out.reason = std::move(reason);
}

}  // namespace

WorkloadStats workload_stats(const PlanSpec& spec) {
  const ConfigDocument doc(spec.workload, spec.file);
  std::int64_t context = 0;
  for (const auto& m : spec.space.models) context = std::max(context, catalog::llm(m).max_context);
  serving::Workload workload(doc.root(), RandomStreams(spec.seed), context);
  WorkloadStats st;
  double prompt = 0, output = 0;
  while (const auto r = workload.next()) {
    prompt += static_cast<double>(r->prompt);
    output += static_cast<double>(r->output);
    st.longest = std::max(st.longest, r->prompt + r->output);
    st.longest_prompt = std::max(st.longest_prompt, r->prompt);
    ++st.requests;
  }
  const double n = static_cast<double>(std::max<std::uint64_t>(st.requests, 1));
  st.mean_prompt = prompt / n;
  st.mean_output = output / n;
  return st;
}

Screening screen(const PlanSpec& spec, const WorkloadStats& stats, const Candidate& c) {
  Screening out;
  if (std::string why = constraint_violation(spec, c); !why.empty()) {
    prune(out, "constraint", std::move(why));
    return out;
  }
  const ConfigDocument doc = scenario_document(spec, c, spec.rate);
  try {
    const Scenario s = load_scenario(doc);
    const serving::ServingSetup setup =
        serving::ServingSetup::from_config(doc.root().at("serving"), s);
    out.warnings = s.warnings;
    out.kv_tokens_per_stage = setup.memories.front()->capacity();
    if (!setup.disaggregation) {
      throughput_bound(s, stats, c, out);
    } else if (std::string why = screen_pools(s, *setup.disaggregation, stats, out);
               !why.empty()) {
      prune(out, "memory", std::move(why));
      return out;
    }
  } catch (const InputError& e) {
    const std::string message = e.message();
    const bool memory = message.find("no room for the KV cache") != std::string::npos;
    prune(out, memory ? "memory" : "layout", message);
    return out;
  }
  if (out.kv_tokens_per_stage < stats.longest) {
    prune(out, "memory",
          fmt::format("KV memory holds {} tokens per stage; the longest request needs {}",
                      out.kv_tokens_per_stage, stats.longest));
  } else if (out.rate_bound < spec.rate) {
    prune(out, "throughput",
          fmt::format("{} bound {:.3g} requests/s is below the target {:.3g}", out.bound_by,
                      out.rate_bound, spec.rate));
  }
  return out;
}

}  // namespace kvsim::plan
