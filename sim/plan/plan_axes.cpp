// The layout axes of a plan's search (see plan_spec.hpp): colocated or disaggregated layouts,
// the prefill and decode pools of the disaggregated ones, and speculative decoding's drafter
// with its draft length. Every value is checked here, at its pointer in the plan file, by
// building what the serving scenario would build from it (a prefill strategy, a global
// scheduler, a drafter on each of the plan's models), so that a bad value is refused before any
// candidate is screened rather than pruned as a layout.
#include <algorithm>

#include <fmt/format.h>

#include "sim/plan/axis_reading.hpp"
#include "sim/plan/plan_spec.hpp"
#include "sim/prefill/builtin.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/disaggregation/global_scheduler.hpp"
#include "sim/serving/engine.hpp"
#include "sim/serving/speculative/drafter.hpp"

namespace kvsim::plan {
namespace {

// A positive count that a serving section accepts as a number of GPUs or instances.
std::int64_t gpu_count(const ConfigNode& e) {
  const std::int64_t v = positive_integer(e);
  if (v > serving::kMaxServingGpus) {
    e.fail(fmt::format("at most {} (kMaxServingGpus), got {}", serving::kMaxServingGpus, v));
  }
  return v;
}

void read_layouts(const ConfigNode& search, SearchSpace& a) {
  std::vector<std::string> layouts{"colocated"};
  read_axis(search, "layout", layouts, [](const ConfigNode& e) {
    return e.as_one_of({"colocated", "disaggregated"});
  });
  for (std::size_t i = 1; i < layouts.size(); ++i) {
    if (std::find(layouts.begin(), layouts.begin() + static_cast<std::ptrdiff_t>(i),
                  layouts[i]) != layouts.begin() + static_cast<std::ptrdiff_t>(i)) {
      search.at("layout").elements()[i].fail(fmt::format("'{}' is given twice", layouts[i]));
    }
  }
  a.colocated = std::find(layouts.begin(), layouts.end(), "colocated") != layouts.end();
  a.disaggregated = std::find(layouts.begin(), layouts.end(), "disaggregated") != layouts.end();
  if (const auto d = search.find("disaggregated"); d && !a.disaggregated) {
    d->fail("the disaggregated axes are searched only when /search/layout holds "
            "\"disaggregated\" (default [\"colocated\"]): add it there, or remove this");
  }
}

PrefillStrategyOption read_strategy(const ConfigNode& e) {
  if (!e.json().is_object()) e.fail("must be a prefill strategy object, such as {\"type\": \"tp\"}");
  return {e.json(), prefill::strategies().create(e)->label()};
}

std::string read_policy(const ConfigNode& e) {
  if (e.json().is_string()) return serving::disaggregation::global_schedulers().lookup(e).info.name;
  return serving::disaggregation::global_schedulers().create(e)->name();
}

void read_pools(const ConfigNode& d, PoolSpace& pools) {
  if (const auto p = d.find("prefill")) {
    read_axis(*p, "instances", pools.prefill_instances, gpu_count);
    read_axis(*p, "gpus", pools.prefill_gpus, gpu_count);
    read_axis(*p, "strategy", pools.prefill_strategies, read_strategy);
    pools.bucket = p->count_or("bucket", pools.bucket);
    p->finish();
  }
  if (const auto c = d.find("decode")) {
    read_axis(*c, "instances", pools.decode_instances, gpu_count);
    read_axis(*c, "tensor_parallel", pools.decode_tensor_parallel, gpu_count);
    read_axis(*c, "max_batch_size", pools.decode_max_batch_size, positive_integer);
    c->finish();
  }
  read_axis(d, "transfer", pools.transfers,
            [](const ConfigNode& e) { return e.as_one_of({"whole", "layerwise"}); });
  read_axis(d, "policy", pools.policies, read_policy);
  d.finish();
}

// A scenario of one GPU of the plan's first type serving `model`: what a drafter is built on to
// check it (its parameters and whether it can draft for that target).
Scenario drafter_check_scenario(const PlanSpec& p, const std::string& model) {
  Json s{{"name", "drafter check"},
         {"seed", p.seed},
         {"model", model},
         {"cluster", {{"gpu", p.space.gpus.front().name}}},
         {"compute", p.compute},
         {"decode", {{"batch_size", 1}, {"context_tokens", 1}}}};  // a scenario needs a section
  if (!p.precision.is_null()) s["precision"] = p.precision;
  return load_scenario(ConfigDocument(std::move(s), p.file));
}

// The drafter at `e` with draft length k (its own "k" when it gives one), built on every model.
DrafterOption drafter_option(const ConfigNode& e, std::optional<std::int64_t> k,
                             const std::vector<Scenario>& targets, const std::string& name) {
  DrafterOption o;
  o.config = e.json();
  if (k) o.config["k"] = *k;
  const ConfigNode node(&o.config, e.file(), Json::json_pointer(e.pointer()));
  for (const Scenario& s : targets) {
    const auto drafter = serving::speculative::drafters().create(node, s);
    o.own_gpus = drafter->memory(1).own_gpus;
    o.k = drafter->k();
  }
  o.label = fmt::format("{} k{}", name, o.k);
  return o;
}

void read_drafters(const ConfigNode& search, PlanSpec& p) {
  const auto axis = search.find("drafter");
  std::vector<std::int64_t> lengths;
  read_axis(search, "draft_tokens", lengths, [](const ConfigNode& e) {
    const std::int64_t k = positive_integer(e);
    if (k > serving::speculative::kMaxDrafts) {
      e.fail(fmt::format("at most {} draft tokens per step", serving::speculative::kMaxDrafts));
    }
    return k;
  });
  if (!axis) {
    if (!lengths.empty()) search.at("draft_tokens").fail("needs /search/drafter: the drafters");
    return;
  }
  if (!axis->json().is_array() || axis->size() == 0) axis->fail("must be a non-empty array");
  std::vector<Scenario> targets;
  for (const auto& m : p.space.models) targets.push_back(drafter_check_scenario(p, m));
  std::vector<DrafterOption>& out = p.space.drafters;
  out.clear();
  for (const ConfigNode& e : axis->elements()) {
    if (e.json().is_null() || e.json() == "none") {
      out.push_back({Json(nullptr), "none", 0, 0});
      continue;
    }
    if (!e.json().is_object()) e.fail("must be \"none\" or a drafter object ({\"type\": ...})");
    const std::string type = e.string("type");
    const auto same = std::count_if(axis->json().begin(), axis->json().end(), [&](const Json& j) {
      return j.is_object() && j.value("type", "") == type;
    });
    const std::string name = same > 1 ? fmt::format("{}#{}", type, e.pointer().substr(
                                                                       e.pointer().rfind('/') + 1))
                                      : type;
    if (e.has("k")) {
      out.push_back(drafter_option(e, std::nullopt, targets, name));
    } else if (lengths.empty()) {
      e.fail("gives no \"k\": give it here, or the draft lengths to search in /search/draft_tokens");
    } else {
      for (const std::int64_t k : lengths) out.push_back(drafter_option(e, k, targets, name));
    }
  }
}

}  // namespace

void read_layout_axes(const ConfigNode& search, PlanSpec& p) {
  read_layouts(search, p.space);
  if (const auto d = search.find("disaggregated")) read_pools(*d, p.space.pools);
  read_drafters(search, p);
  if (!p.space.colocated && search.has("drafter")) {
    search.at("drafter").fail("speculative decoding is searched on colocated layouts only "
                              "(disaggregated serving refuses a drafter): add \"colocated\" to "
                              "/search/layout, or remove this");
  }
}

}  // namespace kvsim::plan
