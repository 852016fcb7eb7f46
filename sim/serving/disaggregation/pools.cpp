// Reads serving/disaggregation into the prefill and decode pools (see pools.hpp).
#include "sim/serving/disaggregation/pools.hpp"

#include <fmt/format.h>

#include "models/catalog/catalog.hpp"
#include "models/compute/gpu_prices.hpp"
#include "sim/prefill/builtin.hpp"
#include "sim/serving/disaggregation/pool_hardware.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::serving::disaggregation {

std::vector<int> Disaggregation::prefill_gpus(int instance) const {
  if (instance >= prefill.instances) return mixed_gpus(instance - prefill.instances);
  std::vector<int> gpus;
  for (int g = 0; g < prefill.gpus; ++g) gpus.push_back(instance * prefill.gpus + g);
  return gpus;
}

std::vector<int> Disaggregation::decode_gpus(int instance) const {
  if (instance >= decode.instances) return mixed_gpus(instance - decode.instances);
  const int first = prefill.instances * prefill.gpus + instance * decode.tensor_parallel;
  std::vector<int> gpus;
  for (int t = 0; t < decode.tensor_parallel; ++t) gpus.push_back(first + t);
  return gpus;
}

namespace {

// A pool's GPU and price as the resolved scenario states them.
void add_hardware(Json& pool, const PoolGpu& h) {
  pool["gpu"] = h.gpu.name;
  if (h.usd_per_gpu_hour) pool["price_per_gpu_hour"] = *h.usd_per_gpu_hour;
}

}  // namespace

std::vector<int> Disaggregation::mixed_gpus(int instance) const {
  const int first = prefill.instances * prefill.gpus + decode.instances * decode.tensor_parallel +
                    instance * prefill.gpus;
  std::vector<int> gpus;
  for (int g = 0; g < prefill.gpus; ++g) gpus.push_back(first + g);
  return gpus;
}

Json Disaggregation::to_json() const {
  Json strategy = prefill.strategy->to_json();
  Json out{{"prefill",
            {{"instances", prefill.instances},
             {"gpus", prefill.gpus},
             {"strategy", strategy},
             {"bucket", prefill.bucket}}},
           {"decode",
            {{"instances", decode.instances},
             {"tensor_parallel", decode.tensor_parallel},
             {"max_batch_size", decode.max_batch_size}}},
           {"transfer", transfer == TransferMode::kWhole ? "whole" : "layerwise"},
           {"policy", {{"type", policy->name()}}}};
  add_hardware(out["prefill"], prefill.hardware);
  add_hardware(out["decode"], decode.hardware);
  if (prefill.max_batch_size > 1) {
    out["prefill"]["max_batch_size"] = prefill.max_batch_size;
    out["prefill"]["max_batched_tokens"] = prefill.max_batched_tokens;
  }
  if (mixed.instances > 0) {
    out["mixed"] = {{"instances", mixed.instances}, {"threshold", mixed.threshold}};
  }
  return out;
}

namespace {

// What disaggregated serving does not model, refused by name rather than ignored.
void refuse_colocated_keys(const ConfigNode& serving, const Scenario& s) {
  for (const char* key : {"replicas", "tensor_parallel", "pipeline_parallel", "expert_parallel",
                          "router", "scheduler", "memory", "drafter"}) {
    if (serving.has(key)) {
      serving.at(key).fail(fmt::format(
          "not used with \"disaggregation\": the prefill and decode pools give the layout and "
          "batching (/serving/disaggregation/prefill and /decode); remove \"{}\"",
          key));
    }
  }
  if (s.model.windowed_layers() > 0 || s.model.moe.enabled()) {
    serving.at("disaggregation")
        .fail(fmt::format("{}: disaggregated serving of {} models is not modelled (the decode "
                          "pool prices dense full-attention layers with one KV cache per layer)",
                          s.model.name, s.model.moe.enabled() ? "mixture-of-experts"
                                                              : "sliding-window"));
  }
}

int bounded(const ConfigNode& n, const char* key) {
  const std::int64_t v = n.count_or(key, 1);
  if (v > kMaxServingGpus) {
    n.at(key).fail(fmt::format("at most {} (kMaxServingGpus), got {}", kMaxServingGpus, v));
  }
  return static_cast<int>(v);
}

// "gpu" (default /cluster/gpu) and "price_per_gpu_hour" (default the catalog GPU's price).
PoolGpu read_pool_gpu(const ConfigNode& n, const Scenario& s) {
  PoolGpu h;
  h.gpu = n.has("gpu") ? catalog::resolve_gpu(n.at("gpu")) : s.gpu;
  if (n.has("price_per_gpu_hour")) {
    h.usd_per_gpu_hour = n.number("price_per_gpu_hour", 0, 1e6);
    h.price_source = fmt::format("{} at {}/price_per_gpu_hour", s.file, n.pointer());
  } else if (const auto price = default_gpu_price(h.gpu.name)) {
    h.usd_per_gpu_hour = price->usd_per_hour;
    h.price_source = price->source;
  }
  return h;
}

PrefillPool read_prefill_pool(const ConfigNode& n, const Scenario& s) {
  PrefillPool p;
  p.hardware = read_pool_gpu(n, s);
  p.instances = bounded(n, "instances");
  p.gpus = bounded(n, "gpus");
  p.bucket = n.count_or("bucket", 1);
  p.max_batch_size = n.count_or("max_batch_size", 1);
  p.max_batched_tokens = n.count_or("max_batched_tokens", s.model.max_context);
  const ConfigNode st = n.at("strategy");
  p.strategy = prefill::strategies().create(st);
  if (const std::string why = p.strategy->unsupported(s.model, p.gpus); !why.empty()) {
    st.fail(why);
  }
  s.engine.check_tensor_parallel(p.strategy->tensor_parallel(p.gpus));
  const std::string type = st.json().value("type", "");
  if (p.max_batch_size > 1 && type != "tp" && type != "tsp") {
    n.at("max_batch_size")
        .fail(fmt::format("batched prefill with the \"{}\" strategy is not modelled (its split "
                          "follows token positions in one sequence): give max_batch_size 1, or "
                          "the \"tp\" or \"tsp\" strategy",
                          type));
  }
  n.finish();
  return p;
}

DecodePool read_decode_pool(const ConfigNode& n, const Scenario& s) {
  DecodePool d;
  d.hardware = read_pool_gpu(n, s);
  d.instances = bounded(n, "instances");
  d.tensor_parallel = bounded(n, "tensor_parallel");
  d.max_batch_size = n.count_or("max_batch_size", 256);
  if (s.model.heads % d.tensor_parallel != 0) {
    n.at("tensor_parallel")
        .fail(fmt::format("must divide the {} attention heads of {}", s.model.heads,
                          s.model.name));
  }
  s.engine.check_tensor_parallel(d.tensor_parallel);
  n.finish();
  return d;
}

// Each pool's view of the scenario (pool_hardware.hpp): the scenario itself when both pools use
// /cluster/gpu (so those runs are as before), else per pool on the rescaled topology.
void place_pools(Disaggregation& d, const Scenario& s, const ConfigNode& n) {
  PoolGpus prefill{{}, d.prefill.hardware.gpu, "prefill"};
  for (int i = 0; i < d.prefill.instances; ++i) {
    for (const int g : d.prefill_gpus(i)) prefill.gpus.push_back(g);
  }
  PoolGpus decode{{}, d.decode.hardware.gpu, "decode"};
  for (int j = 0; j < d.decode.instances; ++j) {
    for (const int g : d.decode_gpus(j)) decode.gpus.push_back(g);
  }
  const Json cluster = to_json(s.gpu);
  if (to_json(prefill.gpu) == cluster && to_json(decode.gpu) == cluster) {
    d.prefill_scenario = d.decode_scenario = std::shared_ptr<const Scenario>(
        std::shared_ptr<const Scenario>(), &s);  // not owned: the scenario outlives the setup
    return;
  }
  const net::Topology topology = heterogeneous_topology(s, {prefill, decode}, n);
  check_placement(topology, prefill, decode, n);
  d.prefill_scenario = pool_scenario(s, prefill, topology, d.warnings);
  d.decode_scenario = pool_scenario(s, decode, topology, d.warnings);
  const DType sent = d.prefill_scenario->precision.kv_cache;
  const DType kept = d.decode_scenario->precision.kv_cache;
  if (sent != kept) {
    n.fail(fmt::format("the prefill pool's {} keeps the KV cache in {} and the decode pool's {} "
                       "in {}: converting it in transit is not modelled; give both pools GPUs "
                       "that run the requested KV-cache precision alike",
                       prefill.gpu.name, to_string(sent), decode.gpu.name, to_string(kept)));
  }
}

// Optional: no mixed pool unless "mixed" is given.
MixedPool read_mixed_pool(const ConfigNode& n, const Disaggregation& d) {
  MixedPool m;
  m.instances = bounded(n, "instances");
  m.threshold = n.count_or("threshold", 4);
  if (d.prefill.gpus != d.decode.tensor_parallel) {
    n.fail(fmt::format("a mixed instance runs prefill on the prefill pool's {} GPUs and decode "
                       "at tensor_parallel {}: give both pools the same GPUs per instance",
                       d.prefill.gpus, d.decode.tensor_parallel));
  }
  n.finish();
  return m;
}

}  // namespace

std::shared_ptr<Disaggregation> read_disaggregation(const ConfigNode& serving,
                                                    const Scenario& s) {
  refuse_colocated_keys(serving, s);
  const ConfigNode n = serving.at("disaggregation");
  auto d = std::make_shared<Disaggregation>();
  d->prefill = read_prefill_pool(n.at("prefill"), s);
  d->decode = read_decode_pool(n.at("decode"), s);
  d->transfer = n.one_of_or("transfer", "whole", {"whole", "layerwise"}) == "whole"
                    ? TransferMode::kWhole
                    : TransferMode::kLayerwise;
  if (d->prefill.max_batch_size > 1 && d->transfer == TransferMode::kLayerwise) {
    n.at("transfer").fail("layer-by-layer transfers of a batched prefill are not modelled: give "
                          "\"whole\", or prefill max_batch_size 1");
  }
  const Json fallback{{"type", "join-shortest-queue"}};
  if (const auto policy = n.find("policy")) {
    d->policy = global_schedulers().create(*policy);
  } else {
    const ConfigNode node(&fallback, s.file, Json::json_pointer("/serving/disaggregation/policy"));
    d->policy = global_schedulers().create(node);
  }
  if (const auto mixed = n.find("mixed")) d->mixed = read_mixed_pool(*mixed, *d);
  n.finish();
  const std::int64_t needed =
      static_cast<std::int64_t>(d->prefill.instances) * d->prefill.gpus +
      static_cast<std::int64_t>(d->decode.instances) * d->decode.tensor_parallel +
      static_cast<std::int64_t>(d->mixed.instances) * d->prefill.gpus;
  if (needed > s.topology->gpu_count()) {
    n.fail(fmt::format("{} prefill instance(s) of {} GPUs and {} decode instance(s) of {}{} "
                       "need {} GPUs; the topology (/cluster/topology) has {}",
                       d->prefill.instances, d->prefill.gpus, d->decode.instances,
                       d->decode.tensor_parallel,
                       d->mixed.instances > 0
                           ? fmt::format(" and {} mixed instance(s)", d->mixed.instances)
                           : std::string(),
                       needed, s.topology->gpu_count()));
  }
  place_pools(*d, s, n);
  if (d->mixed.instances > 0 && d->prefill_scenario != d->decode_scenario) {
    // A mixed instance takes either role on the cluster's GPUs: pools placed on another GPU
    // type (pool_hardware.hpp) would leave its hardware undefined.
    n.at("mixed").fail("a mixed pool beside pools whose \"gpu\" is not /cluster/gpu is not "
                       "modelled: leave out the pools' \"gpu\", or drop \"mixed\"");
  }
  return d;
}

}  // namespace kvsim::serving::disaggregation
