// Reads a plan file into a PlanSpec (see plan_spec.hpp): every field checked here, at its
// pointer in the plan file, so that candidate layouts fail only for reasons of their own.
#include "sim/plan/plan_spec.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "models/catalog/catalog.hpp"
#include "sim/core/input_error.hpp"
#include "models/compute/gpu_prices.hpp"
#include "sim/serving/scheduler.hpp"
#include "sim/serving/workload.hpp"

#include "sim/plan/axis_reading.hpp"  // read_axis, positive_integer

namespace kvsim::plan {
namespace {

const std::vector<std::string> kMetrics{"ttft", "tpot", "itl", "e2e"};
const std::vector<std::string> kStats{"mean", "p50", "p90", "p99"};
const std::vector<std::string> kScaledArrivals{"poisson", "gamma", "fixed"};

void read_models(const ConfigNode& root, PlanSpec& p) {
  const auto many = root.find("models");
  const auto one = root.find("model");
  if (many && one) one->fail("give \"model\" or \"models\", not both");
  if (!many && !one) root.fail("a plan needs \"model\" (a catalog name) or \"models\" (a list)");
  const auto known = catalog::llm_names();
  const auto check = [&known](const ConfigNode& e) {
    const std::string name = e.as_string();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      e.fail(fmt::format("unknown model '{}'; {}", name, valid_values_hint(name, known)));
    }
    return name;
  };
  if (one) {
    p.space.models = {check(*one)};
  } else {
    read_axis(root, "models", p.space.models, check);
  }
}

// The workload, checked by building it (errors at the plan's own pointers), and its rate.
void read_workload(const ConfigNode& root, PlanSpec& p) {
  const ConfigNode w = root.at("workload");
  const ConfigNode arrivals = w.at("arrivals");
  const std::string type = arrivals.string("type");
  if (std::find(kScaledArrivals.begin(), kScaledArrivals.end(), type) == kScaledArrivals.end()) {
    arrivals.at("type").fail(fmt::format(
        "kvsim plan searches over the arrival rate, so arrivals must be poisson, gamma or fixed "
        "(a rate to scale); '{}' is not modelled in plan (a trace's lengths may still be used "
        "with lengths.type trace)",
        type));
  }
  p.rate = arrivals.at("rate").as_rate();
  std::int64_t context = 0;
  for (const auto& m : p.space.models) context = std::max(context, catalog::llm(m).max_context);
  serving::Workload check(w, RandomStreams(p.seed), context);
  p.workload = w.json();
}

void read_slo(const ConfigNode& root, PlanSpec& p) {
  const ConfigNode slo = root.at("slo");
  for (const auto& [key, value] : slo.json().items()) {
    if (key == "attainment") continue;
    const auto cut = key.find('_');
    const std::string metric = key.substr(0, cut);
    const std::string stat = cut == std::string::npos ? "" : key.substr(cut + 1);
    if (std::find(kMetrics.begin(), kMetrics.end(), metric) == kMetrics.end() ||
        std::find(kStats.begin(), kStats.end(), stat) == kStats.end()) {
      slo.at(key).fail(fmt::format("unknown SLO '{}': give <metric>_<statistic> with metric one "
                                   "of ttft, tpot, itl, e2e and statistic one of mean, p50, p90, "
                                   "p99 (ttft_p99), or \"attainment\"",
                                   key));
    }
    p.slo.limits.push_back({key, metric, stat, slo.at(key).as_seconds()});
  }
  if (const auto a = slo.find("attainment")) {
    if (const auto t = a->find("ttft")) p.slo.ttft_s = t->as_seconds();
    if (const auto t = a->find("tpot")) p.slo.tpot_s = t->as_seconds();
    if (!p.slo.ttft_s && !p.slo.tpot_s) a->fail("needs \"ttft\" or \"tpot\" (or both)");
    p.slo.share = a->number("share", 1e-9, 1);
    a->finish();
  }
  if (p.slo.limits.empty() && !p.slo.has_attainment()) {
    slo.fail("needs at least one limit (ttft_p99, ...) or \"attainment\"");
  }
}

GpuOption read_gpu(const ConfigNode& e) {
  const auto known = catalog::gpu_names();
  GpuOption g;
  const ConfigNode name = e.json().is_object() ? e.at("name") : e;
  g.name = name.as_string();
  if (std::find(known.begin(), known.end(), g.name) == known.end()) {
    name.fail(fmt::format("unknown GPU '{}'; {}", g.name, valid_values_hint(g.name, known)));
  }
  if (e.json().is_object()) {
    if (e.has("price_per_hour")) {
      g.price_per_hour = e.number("price_per_hour", 1e-9, 1e6);
      g.price_source = e.string_or("price_source", "the plan file");
    }
    e.finish();
  }
  if (g.price_source.empty()) {
    const auto price = default_gpu_price(g.name);
    if (!price) {
      e.fail(fmt::format("kvsim has no default price for '{}': give {{\"name\": \"{}\", "
                         "\"price_per_hour\": USD}}",
                         g.name, g.name));
    }
    g.price_per_hour = price->usd_per_hour;
    g.price_source = price->source;
  }
  return g;
}

void read_constraints(const ConfigNode& root, PlanSpec& p) {
  const auto c = root.find("constraints");
  if (!c) return;
  Constraints& k = p.constraints;
  k.max_gpus = c->count_or("max_gpus", k.max_gpus);
  k.max_nodes = c->count_or("max_nodes", k.max_nodes);
  k.gpus_per_node = c->count_or("gpus_per_node", k.gpus_per_node);
  k.topology = c->one_of_or("topology", k.topology, {"multi-node", "nvswitch"});
  if (k.max_gpus > 4096) c->at("max_gpus").fail("at most 4096 (kMaxServingGpus)");
  c->finish();
}

void read_search(const ConfigNode& root, PlanSpec& p) {
  const auto s = root.find("search");
  if (!s) return;
  SearchSpace& a = p.space;
  read_axis(*s, "tensor_parallel", a.tensor_parallel, positive_integer);
  read_axis(*s, "pipeline_parallel", a.pipeline_parallel, positive_integer);
  read_axis(*s, "replicas", a.replicas, positive_integer);
  read_axis(*s, "scheduler", a.schedulers, [](const ConfigNode& e) {
    return serving::schedulers().lookup(e).info.name;
  });
  read_axis(*s, "max_batch_size", a.max_batch_size, positive_integer);
  read_axis(*s, "max_batched_tokens", a.max_batched_tokens, positive_integer);
  read_axis(*s, "preemption", a.preemption,
            [](const ConfigNode& e) { return e.as_one_of({"recompute", "swap"}); });
  read_axis(*s, "block_size", a.block_size, positive_integer);
  read_axis(*s, "utilization", a.utilization, [](const ConfigNode& e) {
    const double u = e.as_number();
    if (!(u > 0 && u <= 1)) e.fail(fmt::format("must be in (0, 1], got {}", u));
    return u;
  });
  read_axis(*s, "expert_parallel", a.expert_parallel,
            [](const ConfigNode& e) { return e.as_bool(); });
  read_layout_axes(*s, p);
  s->finish();
}

void read_options(const ConfigNode& root, PlanSpec& p) {
  p.name = root.string_or("name", "plan");
  p.description = root.string_or("description", "");
  p.seed = static_cast<std::uint64_t>(root.count_or("seed", 1, 0));
  p.compute = root.has("compute") ? root.at("compute").json() : Json{{"type", "roofline"}};
  if (root.has("precision")) p.precision = root.at("precision").json();
  p.router = root.string_or("router", p.router);
  p.rate_tolerance = root.number_or("rate_tolerance", p.rate_tolerance, 0.001, 1);
  p.pareto_metric = root.string_or("pareto_metric", p.pareto_metric);
  if (const auto cuts = root.find("shortcuts")) {
    p.estimate_from_fewer_replicas =
        cuts->boolean_or("estimate_from_fewer_replicas", p.estimate_from_fewer_replicas);
    p.reuse_equivalent_layouts =
        cuts->boolean_or("reuse_equivalent_layouts", p.reuse_equivalent_layouts);
    cuts->finish();
  }
  const auto cut = p.pareto_metric.find('_');
  if (cut == std::string::npos ||
      std::find(kMetrics.begin(), kMetrics.end(), p.pareto_metric.substr(0, cut)) ==
          kMetrics.end() ||
      std::find(kStats.begin(), kStats.end(), p.pareto_metric.substr(cut + 1)) == kStats.end()) {
    root.at("pareto_metric").fail("must be <metric>_<statistic>, such as ttft_p99 or e2e_p50");
  }
}

}  // namespace

std::size_t SearchSpace::colocated_count() const {
  if (!colocated) return 0;
  return tensor_parallel.size() * pipeline_parallel.size() * replicas.size() * schedulers.size() *
         max_batch_size.size() * max_batched_tokens.size() * preemption.size() *
         block_size.size() * utilization.size() * expert_parallel.size() * drafters.size();
}

std::size_t SearchSpace::disaggregated_count() const {
  return disaggregated ? pools.count() : 0;
}

std::size_t PoolSpace::count() const {
  return prefill_instances.size() * prefill_gpus.size() * prefill_strategies.size() *
         decode_instances.size() * decode_tensor_parallel.size() * decode_max_batch_size.size() *
         transfers.size() * policies.size();
}

std::size_t PlanSpec::candidate_count() const {
  const SearchSpace& a = space;
  return a.models.size() * a.gpus.size() * (a.colocated_count() + a.disaggregated_count());
}

PlanSpec load_plan(const ConfigDocument& document) {
  const ConfigNode root = document.root();
  PlanSpec p;
  p.file = document.name();
  read_options(root, p);
  read_models(root, p);
  read_workload(root, p);
  read_slo(root, p);
  read_axis(root, "gpus", p.space.gpus, read_gpu);
  if (p.space.gpus.empty()) root.fail("a plan needs \"gpus\": the candidate GPU types");
  read_constraints(root, p);
  read_search(root, p);
  root.finish();
  p.resolved = document.json();
  return p;
}

Json slo_statistic(const Json& summary, const std::string& metric, const std::string& stat) {
  const std::string section = metric == "e2e" ? "e2e_latency" : metric;
  return summary.at(section).at(stat + "_s");
}

}  // namespace kvsim::plan
