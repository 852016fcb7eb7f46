#include <fmt/format.h>

#include "sim/serving/engine.hpp"

namespace kvsim::serving {

std::vector<int> ServingSetup::stage_gpus(int replica, int stage) const {
  std::vector<int> gpus;
  for (int t = 0; t < tensor_parallel; ++t) {
    gpus.push_back((replica * pipeline_parallel + stage) * tensor_parallel + t);
  }
  return gpus;
}

ServingSetup ServingSetup::from_config(const ConfigNode& n, const Scenario& s) {
  ServingSetup c;
  // A part the scenario leaves out is built from its default, at the path it would have.
  const auto part = [&](const char* key, const Json& fallback, auto build) {
    if (const auto node = n.find(key)) return build(*node);
    const Json copy = fallback;
    return build(ConfigNode(&copy, s.file, Json::json_pointer("/serving/" + std::string(key))));
  };
  c.scheduler = part("scheduler", Json{{"type", "vllm"}},
                     [](const ConfigNode& node) { return schedulers().create(node); });
  c.router = part("router", Json{{"type", "round-robin"}},
                  [](const ConfigNode& node) { return routers().create(node); });
  // Each replica and stage is built (a scheduler and a memory each), so their counts are
  // bounded before anything is: at most the GPUs of the largest topology.
  const auto bounded = [&n](const char* key) {
    const std::int64_t v = n.count_or(key, 1);
    if (v > kMaxServingGpus) {
      n.at(key).fail(fmt::format("at most {} (kMaxServingGpus in sim/serving/engine.hpp: the "
                                 "GPUs of the largest topology), got {}",
                                 kMaxServingGpus, v));
    }
    return static_cast<int>(v);
  };
  c.replicas = bounded("replicas");
  c.tensor_parallel = bounded("tensor_parallel");
  c.pipeline_parallel = bounded("pipeline_parallel");
  const LlmSpec& m = s.model;
  if (m.heads % c.tensor_parallel != 0) {
    n.at("tensor_parallel").fail(fmt::format("must divide the {} attention heads of {}", m.heads,
                                             m.name));
  }
  if (c.pipeline_parallel > m.layers) {
    n.at("pipeline_parallel").fail(fmt::format("{} has only {} layers", m.name, m.layers));
  }
  const int per_replica = c.tensor_parallel * c.pipeline_parallel;
  const std::int64_t gpus = s.topology->gpu_count();
  if (per_replica > 1 && gpus < static_cast<std::int64_t>(c.replicas) * per_replica) {
    n.at(n.has("replicas") ? "replicas" : "tensor_parallel")
        .fail(fmt::format("{} replica(s) of {} x {} GPUs need {} GPUs; the topology "
                          "(/cluster/topology) has {}",
                          c.replicas, c.tensor_parallel, c.pipeline_parallel,
                          c.replicas * per_replica, gpus));
  }
  c.flows = n.one_of_or("communication", "closed-form", {"closed-form", "flows"}) == "flows";
  if (c.flows && per_replica == 1) {
    n.at("communication").fail("replicas of one GPU do not communicate; \"flows\" needs "
                               "tensor_parallel or pipeline_parallel above 1");
  }
  if (const auto h = n.find("host_overhead")) c.host_overhead = h->as_duration();
  if (const auto slo = n.find("slo")) {
    if (const auto t = slo->find("ttft")) c.ttft_slo = t->as_seconds();
    if (const auto t = slo->find("tpot")) c.tpot_slo = t->as_seconds();
    slo->finish();
  }

  // One GPU's share: weights and one full iteration's activations, and K and V per token for
  // the most layers a stage holds and this rank's KV heads (replicated when tp exceeds them).
  const auto tp = static_cast<double>(c.tensor_parallel);
  const std::int64_t stage_layers = (m.layers + c.pipeline_parallel - 1) / c.pipeline_parallel;
  const std::int64_t rank_kv_heads = m.kv_heads >= c.tensor_parallel ? m.kv_heads / c.tensor_parallel : 1;
  c.budget.hbm_bytes = s.gpu.hbm_bytes;
  c.budget.fixed_bytes = m.weight_bytes(s.precision.weights) / (tp * c.pipeline_parallel) +
                         m.activation_bytes_per_token(s.precision.activations) *
                             static_cast<double>(c.scheduler->limits().max_batched_tokens) / tp;
  c.budget.kv_bytes_per_token = m.kv_bytes_per_token_layer(s.precision.kv_cache) *
                                static_cast<double>(stage_layers * rank_kv_heads) /
                                static_cast<double>(m.kv_heads);
  c.budget.max_context = m.max_context;
  c.budget.partitions = c.pipeline_parallel;
  for (int r = 0; r < c.replicas * c.pipeline_parallel; ++r) {
    c.memories.push_back(part("memory", Json{{"type", c.scheduler->default_memory()}},
                              [&](const ConfigNode& node) {
                                return kv_memories().create(node, c.budget);
                              }));
  }
  n.finish({"workload"});

  c.resolved = Json{{"scheduler", c.scheduler->to_json()},
                    {"memory", c.memories.front()->to_json()},
                    {"router", {{"type", c.router->name()}}},
                    {"replicas", c.replicas},
                    {"tensor_parallel", c.tensor_parallel},
                    {"pipeline_parallel", c.pipeline_parallel},
                    {"communication", c.flows ? "flows" : "closed-form"},
                    {"host_overhead_ns", c.host_overhead.count()}};
  if (c.ttft_slo) c.resolved["slo"]["ttft_s"] = *c.ttft_slo;
  if (c.tpot_slo) c.resolved["slo"]["tpot_s"] = *c.tpot_slo;
  return c;
}

}  // namespace kvsim::serving
