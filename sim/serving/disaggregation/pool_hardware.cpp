// Heterogeneous pools: the topology's links rescaled per pool GPU, the placement check, and
// the scenario on a pool's GPU (see pool_hardware.hpp).
#include "sim/serving/disaggregation/pool_hardware.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "models/compute/precision_on_gpu.hpp"
#include "models/compute/roofline.hpp"
#include "sim/core/input_error.hpp"
#include "sim/scenario/precision_config.hpp"

namespace kvsim::serving::disaggregation {
namespace {

// The factor taking a link built for `cluster` to `pool`: the ratio of the GPUs' bandwidths
// of that kind. Refused where one spec lacks the link kind (no NVLink on a PCIe card).
double link_factor(net::LinkKind kind, const GpuSpec& cluster, const PoolGpus& pool,
                   const ConfigNode& at) {
  const bool nvlink = kind == net::LinkKind::kNvlink;
  const double from = nvlink ? cluster.nvlink_bandwidth : cluster.pcie_bandwidth;
  const double to = nvlink ? pool.gpu.nvlink_bandwidth : pool.gpu.pcie_bandwidth;
  if (from > 0 && to > 0) return to / from;
  at.fail(fmt::format("the {} pool's {} cannot take the place of /cluster/gpu {} on the "
                      "topology's {} links: {} has no {} bandwidth in its spec; give a "
                      "/cluster/gpu with the same interconnect",
                      pool.name, pool.gpu.name, cluster.name, nvlink ? "NVLink" : "PCIe",
                      from > 0 ? pool.gpu.name : cluster.name, nvlink ? "NVLink" : "PCIe"));
}

bool crosses_network(const net::Topology& t, const net::Route& r) {
  return std::any_of(r.links.begin(), r.links.end(), [&t](int l) {
    return t.link(l).kind == net::LinkKind::kNetwork;
  });
}

// The cluster GPU's compute model, shared by a pool on that GPU (bit for bit the same costs,
// and the same fast paths: every virtual is forwarded).
class SharedCompute final : public ComputeModel {
 public:
  explicit SharedCompute(const ComputeModel& m) : m_(m) {}
  OpCost cost(const Operation& op) const override { return m_.cost(op); }
  std::string describe() const override { return m_.describe(); }
  Json to_json() const override { return m_.to_json(); }
  std::vector<std::string> warnings(const Precision& p) const override { return m_.warnings(p); }
  std::unique_ptr<OperationPricer> decode_attention_pricer(const Operation& shape) const override {
    return m_.decode_attention_pricer(shape);
  }

 private:
  const ComputeModel& m_;
};

// The roofline for a pool whose GPU the scenario's calibrated profile cannot price: the
// parameters /compute/fallback gives for what the profile lacks (here, everything), the pool
// GPU's defaults for the rest.
std::unique_ptr<ComputeModel> fallback_roofline(const std::optional<ConfigNode>& fallback,
                                                const GpuSpec& gpu) {
  const Json none = Json::object();
  const ConfigNode params =
      fallback ? *fallback : ConfigNode(&none, "", Json::json_pointer("/compute/fallback"));
  return std::make_unique<RooflineModel>(gpu, RooflineModel::Params::from_config(params, gpu));
}

// The scenario's compute model resolved for the pool's GPU (see pool_hardware.hpp): the
// /compute node as given, so a profile file, the roofline parameters given and
// /compute/fallback all reach the pool.
std::unique_ptr<ComputeModel> pool_compute(const Scenario& s, const PoolGpus& pool,
                                           std::vector<std::string>& warnings) {
  if (to_json(pool.gpu) == to_json(s.gpu)) return std::make_unique<SharedCompute>(*s.compute);
  try {
    return s.compute_on(pool.gpu);
  } catch (const InputError& e) {  // only a calibrated profile refuses a GPU
    const auto fallback = s.compute_given->root().at("compute").find("fallback");
    warnings.push_back(fmt::format(
        "{}: the {} pool's {} is priced by the roofline with {}: the calibrated profile "
        "cannot price it ({})",
        s.file, pool.name, pool.gpu.name,
        fallback ? "/compute/fallback's parameters (its own defaults where it gives none)"
                 : "its own default efficiencies",
        e.what()));
    return fallback_roofline(fallback, pool.gpu);
  }
}

}  // namespace

net::Topology heterogeneous_topology(const Scenario& s, const std::vector<PoolGpus>& pools,
                                     const ConfigNode& at) {
  net::Topology t = *s.topology;
  std::vector<const PoolGpus*> owner(static_cast<std::size_t>(t.node_count()), nullptr);
  for (const PoolGpus& p : pools) {
    if (to_json(p.gpu) == to_json(s.gpu)) continue;
    for (const int g : p.gpus) owner[static_cast<std::size_t>(t.gpu_node(g))] = &p;
  }
  for (const net::Link& l : s.topology->links()) {
    const PoolGpus* p = owner[static_cast<std::size_t>(l.from)];
    if (!p) p = owner[static_cast<std::size_t>(l.to)];
    if (!p || l.kind == net::LinkKind::kNetwork) continue;
    t.scale_link(l.id, link_factor(l.kind, s.gpu, *p, at));
  }
  return t;
}

void check_placement(const net::Topology& t, const PoolGpus& prefill, const PoolGpus& decode,
                     const ConfigNode& at) {
  if (to_json(prefill.gpu) == to_json(decode.gpu)) return;
  for (const int p : prefill.gpus) {
    for (const int d : decode.gpus) {
      if (crosses_network(t, t.gpu_route(p, d))) continue;
      at.fail(fmt::format(
          "the prefill pool's {} (GPU {}) and the decode pool's {} (GPU {}) share a server: "
          "their route does not cross a NIC, and a server holds one GPU type; give a "
          "multi-node topology (/cluster/topology) and pool sizes that fill whole servers "
          "with the prefill pool before the decode pool",
          prefill.gpu.name, p, decode.gpu.name, d));
    }
  }
}

std::shared_ptr<const Scenario> pool_scenario(const Scenario& s, const PoolGpus& pool,
                                              const net::Topology& topology,
                                              std::vector<std::string>& warnings) {
  auto v = std::make_shared<Scenario>();
  v->name = s.name;
  v->file = s.file;
  v->seed = s.seed;
  v->model = s.model;
  v->gpu = pool.gpu;
  v->engine = s.engine;
  v->topology = std::make_unique<net::Topology>(topology);
  v->collectives = s.collectives;
  v->background = s.background;
  v->memory_utilization = s.memory_utilization;
  if (s.prefill) {  // its attention implementation; strategies are `run`'s, not the pools'
    v->prefill.emplace();
    v->prefill->context_tokens = s.prefill->context_tokens;
    v->prefill->gpus = s.prefill->gpus;
    v->prefill->attention = s.prefill->attention;
  }
  v->decode = s.decode;
  v->resolved = s.resolved;
  v->expert_shares = s.expert_shares;
  const bool other_gpu = to_json(pool.gpu) != to_json(s.gpu);
  // The precision as the scenario asked for it (its resolved "precision" is written before the
  // cluster GPU adapts it), adapted to the pool's GPU.
  const Json asked{{"precision", s.resolved.at("precision")}};
  const Precision requested =
      read_precision(ConfigNode(&asked, s.file, Json::json_pointer()), s.model.dtype);
  const PrecisionOnGpu run_as = precision_on_gpu(requested, pool.gpu, s.model.dtype);
  v->precision = run_as.precision;
  v->compute_given = s.compute_given;
  v->compute = pool_compute(s, pool, warnings);
  if (other_gpu) {  // the cluster GPU's warnings are the scenario's own
    if (!run_as.warning.empty()) {
      warnings.push_back(fmt::format("the {} pool: {}", pool.name, run_as.warning));
    }
    for (const std::string& w : v->compute->warnings(v->precision)) {
      warnings.push_back(fmt::format("{}: at /compute, for the {} pool's {}: {}", s.file,
                                     pool.name, pool.gpu.name, w));
    }
  }
  return v;
}

}  // namespace kvsim::serving::disaggregation
