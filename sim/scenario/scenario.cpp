#include "sim/scenario/scenario.hpp"

#include <fmt/format.h>

#include "models/catalog/catalog.hpp"
#include "models/compute/builtin.hpp"
#include "models/compute/precision_on_gpu.hpp"
#include "models/engine/builtin.hpp"
#include "models/llm/expert_load.hpp"
#include "models/llm/moe_operations.hpp"
#include "sim/network/topologies.hpp"
#include "sim/prefill/builtin.hpp"
#include "sim/prefill/partition_check.hpp"
#include "sim/scenario/precision_config.hpp"
#include "sim/scenario/prefill_memory.hpp"

namespace kvsim {
namespace {

void read_cluster(const ConfigNode& root, Scenario& s) {
  const ConfigNode cluster = root.at("cluster");
  s.gpu = catalog::resolve_gpu(cluster.at("gpu"));
  if (const auto t = cluster.find("topology")) {
    s.topology = std::make_unique<net::Topology>(net::topologies().create(*t, s.gpu));
    s.collectives = net::default_collectives(*t);
  } else {
    s.topology = std::make_unique<net::Topology>();
    s.topology->add_gpu();  // one GPU, no network
  }
  Json heterogeneity = Json::array();
  if (const auto list = cluster.find("heterogeneity")) {
    const RandomStreams random(s.seed);
    std::size_t index = 0;
    for (const ConfigNode& h : list->elements()) {
      const auto effect = net::heterogeneities().create(h, *s.topology);
      RandomEngine stream = random.stream(fmt::format("network/heterogeneity/{}", index++));
      effect->apply(*s.topology, stream);
      heterogeneity.push_back(h.json());
    }
  }
  if (const auto list = cluster.find("background")) {
    for (const ConfigNode& b : list->elements()) {
      s.background.push_back(net::parse_background_flow(b, *s.topology));
    }
  }
  if (const auto c = cluster.find("collectives")) {
    s.collectives = net::CollectiveConfig::from_config(*c);
    for (auto& w : net::collective_warnings(s.collectives, *s.topology)) s.warnings.push_back(w);
  }
  if (const auto t = cluster.find("topology")) {
    const std::string w = net::mesh_collective_warning(*t, s.collectives, s.gpu);
    if (!w.empty()) s.warnings.push_back(w);
  }
  s.memory_utilization = cluster.number_or("memory_utilization", 0.9, 0.01, 1.0);
  cluster.finish();
  Json background = Json::array();
  for (const auto& b : s.background) background.push_back(net::to_json(b, *s.topology));
  s.resolved["cluster"] = Json{{"gpu", to_json(s.gpu)},
                               {"topology", s.topology->to_json()},
                               {"heterogeneity", heterogeneity},
                               {"background", background},
                               {"collectives", s.collectives.to_json()},
                               {"memory_utilization", s.memory_utilization}};
}

// Builds each strategy (with its optional "label"), refusing one the model or GPU count does
// not support and labels that collide, so no report or sweep column merges two strategies.
Json read_strategies(const ConfigNode& list, const LlmSpec& model, std::int64_t gpus,
                     std::vector<std::unique_ptr<prefill::PrefillStrategy>>& out) {
  Json resolved = Json::array();
  std::vector<ConfigNode> nodes = list.elements();
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const ConfigNode& st = nodes[i];
    const std::string label = st.string_or("label", "");
    if (st.has("label") && label.empty()) st.at("label").fail("a label must not be empty");
    out.push_back(prefill::strategies().create(st));
    out.back()->set_label(label);
    const std::string why = out.back()->unsupported(model, gpus);
    if (!why.empty()) st.fail(why);
    for (std::size_t j = 0; j < i; ++j) {
      if (out[j]->label() != out.back()->label()) continue;
      st.fail(fmt::format("label '{}' is also the label of {}; give one of them a distinct "
                          "\"label\", e.g. \"label\": \"{}-{}\"",
                          out.back()->label(), nodes[j].pointer(), out.back()->label(), i));
    }
    resolved.push_back(out.back()->to_json());
    if (!label.empty()) resolved.back()["label"] = label;
  }
  return resolved;
}

void read_prefill(const ConfigNode& root, Scenario& s) {
  const auto n = root.find("prefill");
  if (!n) return;
  PrefillSpec p;
  p.context_tokens = n->count("context_tokens");
  if (p.context_tokens > s.model.max_context) {
    s.warnings.push_back(fmt::format(
        "{}: prefill context of {} tokens exceeds {}'s trained maximum of {} (simulated anyway)",
        s.file, p.context_tokens, s.model.name, s.model.max_context));
  }
  p.attention = n->one_of_or("attention", "fused", {"fused", "eager"}) == "fused"
                    ? AttentionImpl::kFused
                    : AttentionImpl::kEager;
  const std::int64_t available = s.topology->gpu_count();
  const std::int64_t gpus = n->count_or("gpus", available);
  if (gpus > available) {
    n->at("gpus").fail(fmt::format("the topology has only {} GPUs", available));
  }
  if (gpus > p.context_tokens) {
    n->at("context_tokens").fail(fmt::format(
        "the context must have at least one token per GPU: {} tokens on {} GPUs; give at least "
        "{} tokens or fewer \"gpus\"",
        p.context_tokens, gpus, gpus));
  }
  for (int g = 0; g < gpus; ++g) p.gpus.push_back(g);
  Json strategies = Json::array();
  if (const auto list = n->find("strategies")) {
    strategies = read_strategies(*list, s.model, gpus, p.strategies);
  }
  n->finish();
  s.resolved["prefill"] = Json{{"context_tokens", p.context_tokens},
                               {"gpus", gpus},
                               {"attention", p.attention == AttentionImpl::kFused ? "fused"
                                                                                  : "eager"},
                               {"strategies", strategies}};
  s.prefill = std::move(p);
}

// Data-parallel attention as sim/serving/dp_attention.hpp prices it; what it does not model is
// refused by name at the key.
void check_data_parallel_attention(const ConfigNode& n, const DecodeSpec& d, const Scenario& s) {
  if (!d.data_parallel_attention) return;
  const ConfigNode at = n.at("data_parallel_attention");
  if (!s.model.moe.enabled()) {
    at.fail(fmt::format("data-parallel attention is modelled with expert-parallel MoE layers "
                        "(SGLang, DeepSeek), and {} is dense: use tensor_parallel alone",
                        s.model.name));
  }
  if (d.pipeline_parallel > 1) {
    at.fail("data-parallel attention with pipeline_parallel > 1 is not modelled: give "
            "pipeline_parallel 1");
  }
  if (d.expert_degree() != d.tensor_parallel) {
    at.fail(fmt::format("data-parallel attention needs \"expert_parallel\": true (the routed "
                        "experts split over all {} ranks); a degree below the ranks (expert-TP "
                        "inside data-parallel attention) is not modelled",
                        d.tensor_parallel));
  }
}

// The decode step's layout, with the checks kvsim serve makes for a replica: tensor_parallel
// divides the heads, a stage has at least one layer, and the replica fits the topology.
void read_decode_layout(const ConfigNode& n, DecodeSpec& d, const Scenario& s) {
  const std::int64_t available = s.topology->gpu_count();
  const std::int64_t tp = n.count_or("tensor_parallel", 1);
  if (tp > available) {
    n.at("tensor_parallel").fail(fmt::format("the topology has only {} GPUs",
                                             available));
  }
  d.data_parallel_attention = n.boolean_or("data_parallel_attention", false);
  if (!d.data_parallel_attention && s.model.heads % tp != 0) {  // DP attention keeps every head
    n.at("tensor_parallel").fail(fmt::format("must divide the {} attention heads of {}",
                                             s.model.heads, s.model.name));
  }
  const std::int64_t pp = n.count_or("pipeline_parallel", 1);
  if (pp > s.model.layers) {
    n.at("pipeline_parallel").fail(fmt::format("{} has only {} layers", s.model.name,
                                               s.model.layers));
  }
  if (tp * pp > available) {
    n.at("pipeline_parallel").fail(fmt::format(
        "tensor_parallel {} x pipeline_parallel {} needs {} GPUs; the topology "
        "(/cluster/topology) has {}",
        tp, pp, tp * pp, available));
  }
  d.tensor_parallel = static_cast<int>(tp);
  d.pipeline_parallel = static_cast<int>(pp);
  d.expert_parallel = read_layout_expert_parallel(n, "expert_parallel", s.model, tp);
  check_data_parallel_attention(n, d, s);
}

// kvsim run prices the decode step on its layout's GPUs: a step whose shard of the weights and
// KV cache does not fit one GPU is the cost of a step that cannot run there, so it is marked (a
// warning). The fullest GPU holds 1/(tp x pp) of the weights and, as serving's KV budget counts
// it, the K and V of the first stage's layers for its rank's KV heads (replicated when tp
// exceeds them).
void warn_if_decode_does_not_fit(const DecodeSpec& d, Scenario& s) {
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  const LlmSpec& m = s.model;
  const std::int64_t tp = d.tensor_parallel;
  const std::int64_t pp = d.pipeline_parallel;
  const std::int64_t stage_layers = (m.layers + pp - 1) / pp;
  const std::int64_t rank_kv_heads = m.kv_heads >= tp ? m.kv_heads / tp : 1;
  const double kv_share = static_cast<double>(stage_layers * rank_kv_heads) /  // 1 at tp = pp = 1
                          static_cast<double>(m.layers * m.kv_heads);
  double weights =
      m.moe.enabled()
          ? m.weight_bytes_per_gpu(s.precision, tp, d.expert_degree()) /
                static_cast<double>(pp)
          : m.weight_bytes(s.precision) / static_cast<double>(tp * pp);
  double kv = m.kv_bytes_for(s.precision.kv_cache, d.context_tokens) * kv_share *
              static_cast<double>(d.batch_size);
  if (d.data_parallel_attention) {  // attention replicated, experts split; the busiest rank's KV
    weights = m.weight_bytes_per_gpu(s.precision, 1, tp);
    kv = m.kv_bytes_for(s.precision.kv_cache, d.context_tokens) *
         static_cast<double>((d.batch_size + tp - 1) / tp);
  }
  const double usable = s.gpu.hbm_bytes * s.memory_utilization;
  if (weights + kv <= usable) return;
  const std::string where =
      tp * pp == 1 ? fmt::format("one {}, which it does not fit", s.gpu.name)
                   : fmt::format("{} x {} (tensor_parallel {} x pipeline_parallel {}), whose "
                                 "fullest GPU its shard does not fit",
                                 tp * pp, s.gpu.name, tp, pp);
  s.warnings.push_back(fmt::format(
      "{}: at /decode: the decode step is priced on {}: weights "
      "{:.1f} GiB + KV cache {:.1f} GiB ({} requests x {} tokens) over the {:.1f} GiB usable "
      "(x memory_utilization {}); its cost is that of a step that cannot run there ({})",
      s.file, where, weights / kGiB, kv / kGiB, d.batch_size, d.context_tokens, usable / kGiB,
      s.memory_utilization,
      weights > usable ? "the weights alone do not fit: give a larger tensor_parallel or "
                         "pipeline_parallel"
                       : "give a smaller batch_size or context_tokens"));
}

void read_decode(const ConfigNode& root, Scenario& s) {
  const auto n = root.find("decode");
  if (!n) return;
  DecodeSpec d;
  d.batch_size = n->count_or("batch_size", 1);
  d.context_tokens = n->count("context_tokens");
  if (d.context_tokens > s.model.max_context) {  // as for prefill; serve rejects such a request
    s.warnings.push_back(fmt::format(
        "{}: decode context of {} tokens exceeds {}'s trained maximum of {} (simulated anyway)",
        s.file, d.context_tokens, s.model.name, s.model.max_context));
  }
  read_decode_layout(*n, d, s);
  const auto drafter = n->find("drafter");  // built by kvsim run (sim/serving/speculative)
  if (drafter && d.data_parallel_attention) {
    n->at("drafter").fail("speculative decoding on data-parallel attention is not modelled: "
                          "drop \"drafter\" or \"data_parallel_attention\"");
  }
  n->finish();
  s.resolved["decode"] = Json{{"batch_size", d.batch_size},
                              {"context_tokens", d.context_tokens},
                              {"tensor_parallel", d.tensor_parallel},
                              {"pipeline_parallel", d.pipeline_parallel}};
  if (drafter) s.resolved["decode"]["drafter"] = drafter->json();
  if (d.expert_parallel.on()) {
    s.resolved["decode"]["expert_parallel"] = d.expert_parallel.to_json();
  }
  if (d.data_parallel_attention) s.resolved["decode"]["data_parallel_attention"] = true;
  warn_if_decode_does_not_fit(d, s);
  s.decode = d;
}

// The engine model; absent, kernels-only, and (so that outputs without an engine stay as they
// were) not written to the resolved scenario.
void read_engine(const ConfigNode& root, Scenario& s) {
  const auto n = root.find("engine");
  if (!n) return;
  s.engine = kvsim::read_engine(*n);
  s.resolved["engine"] = s.engine.to_json();
}

// The routing of a MoE model's tokens over its experts ("expert_load", default uniform);
// refused for a dense model, which has no experts to load.
void read_expert_load(const ConfigNode& root, Scenario& s) {
  const auto n = root.find("expert_load");
  if (!s.model.moe.enabled()) {
    if (n) n->fail(fmt::format("{} is a dense model: it has no experts to load", s.model.name));
    return;
  }
  const Json fallback{{"type", "uniform"}};
  const ConfigNode uniform(&fallback, s.file, Json::json_pointer("/expert_load"));
  ExpertLoad load = expert_loads().create(n ? *n : uniform, s.model.moe.experts,
                                          RandomStreams(s.seed));
  s.resolved["expert_load"] = load.config;
  s.expert_shares = std::make_shared<const std::vector<double>>(std::move(load.shares));
}

}  // namespace

DecomposeOptions Scenario::decompose_options(std::int64_t tensor_parallel,
                                             std::int64_t expert_parallel) const {
  DecomposeOptions o;
  o.precision = precision;
  o.attention = prefill ? prefill->attention : AttentionImpl::kFused;
  o.tensor_parallel = tensor_parallel;
  o.expert_parallel = expert_parallel;
  o.expert_shares = expert_shares;
  return o;
}

prefill::PrefillSetup Scenario::prefill_setup() const {
  prefill::PrefillSetup setup;
  setup.model = &model;
  setup.compute = compute.get();
  setup.engine = &engine;
  setup.gpu_name = gpu.name;
  setup.options = decompose_options(1);
  setup.context_tokens = prefill ? prefill->context_tokens : 0;
  setup.gpus = prefill ? prefill->gpus : std::vector<int>{0};
  setup.topology = topology.get();
  setup.collectives = collectives;
  setup.background = background;
  setup.seed = seed;
  setup.memory = memory_capacity();
  return setup;
}

std::unique_ptr<ComputeModel> Scenario::compute_on(const GpuSpec& on) const {
  return compute_models().create(compute_given->root().at("compute"), on);
}

prefill::MemoryCapacity Scenario::memory_capacity() const {
  return prefill::MemoryCapacity{gpu.name, gpu.hbm_bytes, memory_utilization};
}

Scenario load_scenario(const ConfigDocument& document) {
  const ConfigNode root = document.root();
  if (!root.json().is_object()) root.fail("a scenario is a JSON object");
  Scenario s;
  s.file = document.name();
  s.name = root.string_or("name", "unnamed");
  const std::string description = root.string_or("description", "");  // free text for readers
  const std::int64_t seed = root.count_or("seed", 1, 0);
  s.seed = static_cast<std::uint64_t>(seed);
  s.model = catalog::resolve_llm(root.at("model"));
  s.precision = read_precision(root, s.model.dtype);
  s.resolved = Json{{"name", s.name}, {"seed", seed}, {"model", to_json(s.model)}};
  if (!description.empty()) s.resolved["description"] = description;
  s.resolved["precision"] = to_json(s.precision);
  read_cluster(root, s);
  read_expert_load(root, s);
  const PrecisionOnGpu run_as = precision_on_gpu(s.precision, s.gpu, s.model.dtype);
  s.precision = run_as.precision;  // e.g. fp8 on an A100 runs as W8A16
  if (!run_as.warning.empty()) s.warnings.push_back(run_as.warning);
  const auto c = root.find("compute");
  Json given = Json::object();
  given["compute"] = c ? c->json() : Json{{"type", "roofline"}};
  s.compute_given =
      std::make_shared<const ConfigDocument>(std::move(given), s.file, document.directory());
  s.compute = s.compute_on(s.gpu);
  s.resolved["compute"] = s.compute->to_json();
  for (const std::string& w : s.compute->warnings(s.precision)) {
    s.warnings.push_back(fmt::format("{}: at /compute: {}", s.file, w));
  }
  read_engine(root, s);
  read_prefill(root, s);
  if (s.prefill) {  // partitioners against their chain: refusals, and KVR-P off its ranges
    for (auto& w : prefill::check_partitioners(s.prefill->strategies, s.prefill_setup())) {
      s.warnings.push_back(std::move(w));
    }
  }
  if (s.prefill) check_prefill_memory(root.at("prefill"), s);
  if (s.prefill) {  // a custom all-reduce must price every tensor-parallel degree run
    for (const auto& strategy : s.prefill->strategies) {
      s.engine.check_tensor_parallel(
          strategy->tensor_parallel(static_cast<std::int64_t>(s.prefill->gpus.size())));
    }
  }
  read_decode(root, s);
  if (!s.prefill && !s.decode && !root.has("serving")) {
    root.fail("a scenario needs a \"prefill\", \"decode\" or \"serving\" section");
  }
  (void)root.find("serving");  // read by kvsim serve (sim/serving)
  root.finish({"$schema"});  // an editor's pointer to `kvsim schema` (README), not kvsim's
  return s;
}

}  // namespace kvsim
