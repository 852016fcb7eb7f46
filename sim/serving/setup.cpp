// Reads and checks a scenario's "serving" section into a ServingSetup (see engine.hpp).
#include <string>

#include <fmt/format.h>

#include "models/llm/moe_operations.hpp"
#include "sim/serving/disaggregation/pools.hpp"
#include "sim/serving/engine.hpp"
#include "sim/serving/speculative/speculation.hpp"

namespace kvsim::serving {

std::vector<int> ServingSetup::stage_gpus(int replica, int stage) const {
  std::vector<int> gpus;
  for (int t = 0; t < tensor_parallel; ++t) {
    gpus.push_back((replica * pipeline_parallel + stage) * tensor_parallel + t);
  }
  return gpus;
}

namespace {

// A part the scenario leaves out is built from its default, at the path it would have.
template <class Build>
auto build_part(const ConfigNode& n, const Scenario& s, const char* key, const Json& fallback,
                Build build) {
  if (const auto node = n.find(key)) return build(*node);
  const Json copy = fallback;
  return build(ConfigNode(&copy, s.file, Json::json_pointer("/serving/" + std::string(key))));
}

// Each replica and stage is built (a scheduler and a memory each), so their counts are
// bounded before anything is: at most the GPUs of the largest topology.
int bounded_count(const ConfigNode& n, const char* key) {
  const std::int64_t v = n.count_or(key, 1);
  if (v > kMaxServingGpus) {
    n.at(key).fail(fmt::format("at most {} (kMaxServingGpus in sim/serving/engine.hpp: the "
                               "GPUs of the largest topology), got {}",
                               kMaxServingGpus, v));
  }
  return static_cast<int>(v);
}

// "data_parallel_attention" as sim/serving/dp_attention.hpp prices it; what it does not model
// is refused by name at the key.
void read_data_parallel_attention(const ConfigNode& n, const Scenario& s, ServingSetup& c) {
  c.data_parallel_attention = n.boolean_or("data_parallel_attention", false);
  if (!c.data_parallel_attention) return;
  const ConfigNode at = n.at("data_parallel_attention");
  if (!s.model.moe.enabled()) {
    at.fail(fmt::format("data-parallel attention is modelled with expert-parallel MoE layers "
                        "(SGLang, DeepSeek), and {} is dense: use tensor_parallel alone",
                        s.model.name));
  }
  if (c.pipeline_parallel > 1) {
    at.fail("data-parallel attention with pipeline_parallel > 1 is not modelled: give "
            "pipeline_parallel 1");
  }
  if (c.expert_degree() != c.tensor_parallel) {
    at.fail(fmt::format("data-parallel attention needs \"expert_parallel\": true (the routed "
                        "experts split over all {} ranks); a degree below the ranks (expert-TP "
                        "inside data-parallel attention) is not modelled",
                        c.tensor_parallel));
  }
  if (n.has("drafter")) {
    at.fail("speculative decoding on data-parallel attention is not modelled: drop \"drafter\" "
            "or \"data_parallel_attention\"");
  }
  if (n.has("communication") && n.string("communication") == "flows") {
    at.fail("data-parallel attention's all-to-alls are priced in closed form only: give "
            "\"communication\": \"closed-form\"");
  }
}

// Replicas of tensor_parallel x pipeline_parallel GPUs that the model and topology allow.
void read_parallelism(const ConfigNode& n, const Scenario& s, ServingSetup& c) {
  c.replicas = bounded_count(n, "replicas");
  c.tensor_parallel = bounded_count(n, "tensor_parallel");
  c.pipeline_parallel = bounded_count(n, "pipeline_parallel");
  const LlmSpec& m = s.model;
  c.expert_parallel = read_layout_expert_parallel(n, "expert_parallel", m, c.tensor_parallel);
  read_data_parallel_attention(n, s, c);
  if (!c.data_parallel_attention && m.heads % c.tensor_parallel != 0) {
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
  s.engine.check_tensor_parallel(c.tensor_parallel);  // a custom all-reduce's latency table
}

// The communication mode, the host overhead per iteration and the SLOs (seconds).
void read_communication_and_slo(const ConfigNode& n, ServingSetup& c) {
  c.flows = n.one_of_or("communication", "closed-form", {"closed-form", "flows"}) == "flows";
  // Disaggregated pools communicate whatever their layout: the KV transfers are flows too.
  if (c.flows && !c.disaggregation && c.tensor_parallel * c.pipeline_parallel == 1) {
    n.at("communication").fail("replicas of one GPU do not communicate; \"flows\" needs "
                               "tensor_parallel or pipeline_parallel above 1");
  }
  if (const auto h = n.find("host_overhead")) c.host_overhead = h->as_duration();
  if (const auto slo = n.find("slo")) {
    if (const auto t = slo->find("ttft")) c.ttft_slo = t->as_seconds();
    if (const auto t = slo->find("tpot")) c.tpot_slo = t->as_seconds();
    slo->finish();
  }
}

// Data-parallel attention: each GPU is a rank at tensor parallel 1 with its own batch (up to
// max_batched_tokens) and the K and V of every layer and head of its own sequences; it holds
// every weight but the routed experts, which are split over the ranks.
KvBudget data_parallel_budget(const Scenario& s, const ServingSetup& c) {
  const LlmSpec& m = s.model;
  KvBudget b;
  b.hbm_bytes = s.gpu.hbm_bytes;
  b.fixed_bytes = m.weight_bytes_per_gpu(s.precision, 1, c.tensor_parallel) +
                  m.activation_bytes_per_token(s.precision.activations) *
                      static_cast<double>(c.scheduler->limits().max_batched_tokens);
  b.kv_bytes_per_token = m.kv_bytes_per_token(s.precision.kv_cache);
  b.max_context = m.max_context;
  b.window = m.sliding_window;
  b.windowed_share = static_cast<double>(m.windowed_layers()) / static_cast<double>(m.layers);
  return b;
}

// One GPU's share: weights and one full iteration's activations, and K and V per token for
// the most layers a stage holds and this rank's KV heads (replicated when tp exceeds them).
KvBudget kv_budget(const Scenario& s, const ServingSetup& c) {
  const LlmSpec& m = s.model;
  const auto tp = static_cast<double>(c.tensor_parallel);
  const std::int64_t stage_layers = (m.layers + c.pipeline_parallel - 1) / c.pipeline_parallel;
  const std::int64_t rank_kv_heads =
      m.kv_heads >= c.tensor_parallel ? m.kv_heads / c.tensor_parallel : 1;
  KvBudget b;
  b.hbm_bytes = s.gpu.hbm_bytes;
  if (c.data_parallel_attention) return data_parallel_budget(s, c);
  // A dense model's share exactly as before MoE existed (the same rounding, the same budgets).
  const double weights =
      m.moe.enabled() ? m.weight_bytes_per_gpu(s.precision, c.tensor_parallel,
                                               c.expert_degree()) /
                            c.pipeline_parallel
                      : m.weight_bytes(s.precision) / (tp * c.pipeline_parallel);
  b.fixed_bytes = weights +
                  m.activation_bytes_per_token(s.precision.activations) *
                      static_cast<double>(c.scheduler->limits().max_batched_tokens) / tp;
  b.kv_bytes_per_token = m.kv_bytes_per_token_layer(s.precision.kv_cache) *
                         static_cast<double>(stage_layers * rank_kv_heads) /
                         static_cast<double>(m.kv_heads);
  b.max_context = m.max_context;
  b.partitions = c.pipeline_parallel;
  b.window = m.sliding_window;
  b.windowed_share = static_cast<double>(m.windowed_layers()) / static_cast<double>(m.layers);
  return b;
}

// "drafter": speculative decoding on every replica (sim/serving/speculative). Its weights and
// KV per token count in each GPU's budget; a drafter on GPUs of its own needs them free.
void read_drafter(const ConfigNode& n, const Scenario& s, ServingSetup& c) {
  const auto node = n.find("drafter");
  if (!node) return;
  if (c.pipeline_parallel > 1) {
    node->fail("speculative decoding with pipeline_parallel above 1 is not modelled (where the "
               "drafter runs between stages): give pipeline_parallel 1");
  }
  auto drafter = speculative::drafters().create(*node, s);
  const speculative::DrafterMemory m = drafter->memory(c.tensor_parallel);
  const std::int64_t needed = static_cast<std::int64_t>(c.replicas) *
                              (c.tensor_parallel + m.own_gpus);
  if (m.own_gpus > 0 && needed > s.topology->gpu_count()) {
    node->fail(fmt::format("{} replica(s) of {} GPUs, each with its drafter on a GPU of its own, "
                           "need {} GPUs; the topology (/cluster/topology) has {}",
                           c.replicas, c.tensor_parallel, needed, s.topology->gpu_count()));
  }
  c.budget.fixed_bytes += m.weight_bytes;
  c.budget.kv_bytes_per_token += m.kv_bytes_per_token;
  c.speculation = std::make_shared<speculative::Speculation>(std::move(drafter), s.seed);
}

// The setup as summary.json's "config" states it.
Json resolved_config(const ServingSetup& c) {
  Json out{{"scheduler", c.scheduler->to_json()},
           {"memory", c.memories.front()->to_json()},
           {"router", {{"type", c.router->name()}}},
           {"replicas", c.replicas},
           {"tensor_parallel", c.tensor_parallel},
           {"pipeline_parallel", c.pipeline_parallel},
           {"communication", c.flows ? "flows" : "closed-form"},
           {"host_overhead_ns", c.host_overhead.count()}};
  if (c.expert_parallel.on()) out["expert_parallel"] = c.expert_parallel.to_json();
  if (c.data_parallel_attention) out["data_parallel_attention"] = true;
  if (c.ttft_slo) out["slo"]["ttft_s"] = *c.ttft_slo;
  if (c.tpot_slo) out["slo"]["tpot_s"] = *c.tpot_slo;
  return out;
}

}  // namespace

ServingSetup ServingSetup::from_config(const ConfigNode& n, const Scenario& s) {
  ServingSetup c;
  c.scheduler = build_part(n, s, "scheduler", Json{{"type", "vllm"}},
                           [](const ConfigNode& node) { return schedulers().create(node); });
  c.router = build_part(n, s, "router", Json{{"type", "round-robin"}},
                        [](const ConfigNode& node) { return routers().create(node); });
  if (n.has("disaggregation")) {  // the decode pool is the layout of the budget and memories
    c.disaggregation = disaggregation::read_disaggregation(n, s);
    c.replicas = c.disaggregation->decode.instances;
    c.tensor_parallel = c.disaggregation->decode.tensor_parallel;
  } else {
    read_parallelism(n, s, c);
  }
  read_communication_and_slo(n, c);
  // A decode pool's budget is on its own GPU (disaggregation/pool_hardware.hpp).
  c.budget = kv_budget(c.disaggregation ? *c.disaggregation->decode_scenario : s, c);
  read_drafter(n, s, c);
  for (int r = 0; r < c.replicas * c.engines_per_replica(); ++r) {
    c.memories.push_back(build_part(n, s, "memory", Json{{"type", c.scheduler->default_memory()}},
                                    [&c](const ConfigNode& node) {
                                      return kv_memories().create(node, c.budget);
                                    }));
  }
  n.finish({"workload"});
  c.resolved = resolved_config(c);
  if (c.speculation) c.resolved["drafter"] = c.speculation->drafter().to_json();
  if (c.disaggregation) {  // the pools replace the colocated layout and policies
    for (const char* key : {"scheduler", "memory", "router", "replicas", "tensor_parallel",
                            "pipeline_parallel"}) {
      c.resolved.erase(key);
    }
    c.resolved["disaggregation"] = c.disaggregation->to_json();
  }
  return c;
}

}  // namespace kvsim::serving
