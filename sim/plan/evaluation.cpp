// Evaluating screened layouts: the target, the rate search, and reuse between equivalent
// layouts (see evaluation.hpp).
#include "sim/plan/evaluation.hpp"

#include "sim/distributed/work_split.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/plan/equivalence.hpp"
#include "sim/plan/rate_search.hpp"
#include "sim/plan/slo_watch.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::plan {
namespace {

// The share of requests meeting the attainment targets (rejected requests count as missing).
double attainment(const Json& summary) {
  const double all = summary.at("requests").get<double>() + summary.at("rejected").get<double>();
  return all > 0 ? summary.at("requests_meeting_slo").get<double>() / all : 0.0;
}

// The SLOs a simulation missed; a stopped one says which, without the run's statistics.
std::vector<std::string> missed_slos(const PlanSpec& spec, const Json& summary) {
  if (summary.contains("stopped")) {
    return {fmt::format("{} (stopped early: certainly missed)",
                        summary["stopped"].get<std::string>())};
  }
  return slo_violations(spec, summary);
}

struct Simulation {
  Probe probe;
  Trace trace;  // when asked for (equivalent layouts to share with)
};

// One serving simulation of the candidate at `rate`, on the candidate's loaded scenario; when
// it was stopped because its SLOs were certainly missed (SloWatch), {"stopped": why}.
Simulation simulate(const PlanSpec& spec, const Candidate& c, const Scenario& s, double rate,
                    bool trace) {
  const ConfigDocument doc = scenario_document(spec, c, rate);
  const ConfigNode serving = doc.root().at("serving");
  serving::ServingSetup setup = serving::ServingSetup::from_config(serving, s);
  serving::Workload workload(serving.at("workload"), RandomStreams(s.seed), s.model.max_context);
  TraceRecorder recorder;
  if (trace) {  // the same requests, streamed from a copy for their arrivals and lengths
    serving::Workload copy(serving.at("workload"), RandomStreams(s.seed), s.model.max_context);
    while (const auto r = copy.next()) {
      recorder.expect(to_seconds(r->arrival - SimTime{0}), r->prompt, r->output);
    }
  }
  SloWatch watch(spec, workload.total());
  serving::ServingObservers observers;
  observers.request = [&](const serving::RequestRecord& q) {
    if (trace) recorder.finished(q);
    watch.finished(q);
  };
  Simulation out;
  bool stopped = false;
  try {
    out.probe.summary =
        serving::simulate_serving(s, setup, std::move(workload), observers).summary;
  } catch (const SloCertainlyMissed& e) {
    out.probe.summary = Json{{"stopped", e.what}};
    stopped = true;
  }
  out.probe.missed = missed_slos(spec, out.probe.summary);
  if (trace) out.trace = recorder.trace(stopped);
  return out;
}

// A simulation kept for the later layouts of a family that the proof lets reuse it.
struct Shared {
  double rate;
  Probe probe;
  std::size_t by;                // family position of the layout that ran it
  std::vector<bool> for_layout;  // by family position
};

// A family being evaluated: its layouts, their equivalence keys and memory bounds, the
// simulations to share, and the highest rates found so far (the estimates' sources).
struct FamilyRun {
  const PlanSpec& spec;
  const std::vector<Survivor>& family;
  std::vector<std::string> keys;                   // equivalence_key, by position
  std::vector<std::optional<MemoryBound>> bounds;  // none: this layout never shares
  std::vector<Shared> memo;
  std::vector<std::optional<double>> max_rate;     // of the feasible layouts evaluated

  bool shares(std::size_t j) const { return bounds[j].has_value(); }

  void remember(std::size_t j, double rate, const Simulation& sim) {
    if (!bounds[j] || !bounds[j]->never_binds(sim.trace)) return;
    Shared x{rate, sim.probe, j, std::vector<bool>(family.size(), false)};
    bool any = false;
    for (std::size_t k = j + 1; k < family.size(); ++k) {
      x.for_layout[k] = keys[k] == keys[j] && bounds[k] && bounds[k]->never_binds(sim.trace);
      any = any || x.for_layout[k];
    }
    if (any) memo.push_back(std::move(x));
  }

  // The estimate shortcut: the highest rate of the first feasible layout with the most replicas
  // below this one's, scaled by the replicas (replicas behind a router serve about in
  // proportion); none without such a layout.
  std::optional<double> estimate(std::size_t j) const {
    if (!spec.estimate_from_fewer_replicas) return std::nullopt;
    const std::int64_t replicas = family[j].candidate->replicas;
    std::optional<std::size_t> from;
    for (std::size_t k = 0; k < j; ++k) {
      const std::int64_t r = family[k].candidate->replicas;
      if (max_rate[k] && r < replicas && (!from || r > family[*from].candidate->replicas)) {
        from = k;
      }
    }
    if (!from) return std::nullopt;
    return *max_rate[*from] * static_cast<double>(replicas) /
           static_cast<double>(family[*from].candidate->replicas);
  }
};

// The memory bounds of the layouts that have an equivalent in the family (the reuse shortcut).
void add_memory_bounds(FamilyRun& f) {
  f.bounds.resize(f.family.size());
  if (!f.spec.reuse_equivalent_layouts) return;
  for (std::size_t j = 0; j < f.family.size(); ++j) {
    if (std::count(f.keys.begin(), f.keys.end(), f.keys[j]) < 2) continue;
    try {
      const ConfigDocument doc = scenario_document(f.spec, *f.family[j].candidate, f.spec.rate);
      const Scenario s = load_scenario(doc);
      f.bounds[j].emplace(serving::ServingSetup::from_config(doc.root().at("serving"), s));
    } catch (const InputError&) {
      // Rejected when evaluated; it shares nothing.
    }
  }
}

// The search's verdict for a layout that meets the SLOs at the target.
void feasible(const PlanSpec& spec, const Screening& screen, std::optional<double> estimate,
              Probe at_target, const std::function<Probe(double)>& probe, Json& out) {
  const RateGrid grid(spec.rate, spec.rate_tolerance, screen.rate_bound);
  const Start start = estimate ? estimated_start(grid, *estimate) : doubling_start(grid);
  const SearchResult r = search_rate(grid, start, std::move(at_target), probe);
  out["status"] = "feasible";
  out["max_rate"] = grid.rate(r.lo);
  out["rate_bracket"] = {grid.rate(r.lo), r.hi ? Json(grid.rate(*r.hi)) : Json(nullptr)};
  out["reached_bound"] = !r.hi;
  out["missed_above"] = fmt::format("{}", fmt::join(r.missed_at_hi, "; "));
  out["at_max_rate"] = summary_metrics(r.at_lo.summary);
}

std::string evaluate_in_family(FamilyRun& f, std::size_t j) {
  const PlanSpec& spec = f.spec;
  const Candidate& c = *f.family[j].candidate;
  Json out{{"index", c.index}};
  int simulations = 0;
  std::optional<std::size_t> source;  // the first earlier layout whose simulation it took
  try {
    const Scenario s = load_scenario(scenario_document(spec, c, spec.rate));
    const auto probe = [&](double rate) {
      for (const Shared& x : f.memo) {
        if (x.rate == rate && x.for_layout[j]) {
          if (!source || x.by < *source) source = x.by;
          return x.probe;
        }
      }
      Simulation sim = simulate(spec, c, s, rate, f.shares(j));
      ++simulations;
      f.remember(j, rate, sim);
      return std::move(sim.probe);
    };
    Probe at_target = probe(spec.rate);
    if (!at_target.summary.contains("stopped")) {
      out["at_target"] = summary_metrics(at_target.summary);
    }
    if (!at_target.meets()) {
      out["status"] = "rejected";
      out["reason"] = fmt::format("at the target {:.4g} requests/s: {}", spec.rate,
                                  fmt::join(at_target.missed, "; "));
    } else {
      feasible(spec, *f.family[j].screening, f.estimate(j), std::move(at_target), probe, out);
      f.max_rate[j] = out["max_rate"].get<double>();
    }
  } catch (const InputError& e) {
    out["status"] = "rejected";
    out["reason"] = e.message();
  }
  out["simulations"] = simulations;
  if (simulations == 0 && source) out["same_result_as"] = f.family[*source].candidate->index;
  return out.dump();
}

Json stats(const Json& latency) {
  return Json{{"mean_s", latency.at("mean_s")},
              {"p50_s", latency.at("p50_s")},
              {"p90_s", latency.at("p90_s")},
              {"p99_s", latency.at("p99_s")}};
}

}  // namespace

std::vector<std::string> slo_violations(const PlanSpec& spec, const Json& summary) {
  std::vector<std::string> out;
  for (const SloLimit& l : spec.slo.limits) {
    const Json v = slo_statistic(summary, l.metric, l.stat);
    if (v.is_null()) {
      out.push_back(fmt::format("{} undefined (no request gave a sample)", l.key));
    } else if (v.get<double>() > l.seconds) {
      out.push_back(fmt::format("{} {:.4g} s > {:.4g} s", l.key, v.get<double>(), l.seconds));
    }
  }
  if (spec.slo.has_attainment() && attainment(summary) < spec.slo.share) {
    out.push_back(fmt::format("attainment {:.4f} < {:.4g}", attainment(summary), spec.slo.share));
  }
  if (const auto rejected = summary.at("rejected").get<std::uint64_t>(); rejected > 0) {
    out.push_back(fmt::format("{} requests rejected (longer than the model's context)", rejected));
  }
  return out;
}

Json summary_metrics(const Json& summary) {
  return Json{{"ttft", stats(summary.at("ttft"))},
              {"tpot", stats(summary.at("tpot"))},
              {"itl", stats(summary.at("itl"))},
              {"e2e", stats(summary.at("e2e_latency"))},
              {"request_throughput", summary.at("request_throughput")},
              {"output_throughput", summary.at("output_throughput")},
              {"goodput", summary.at("goodput")},
              {"attainment", attainment(summary)},
              {"gpu_busy_fraction", summary.at("gpu_busy_fraction")},
              {"preemptions", summary.at("preemptions")}};
}

std::vector<std::string> evaluate_family(const PlanSpec& spec,
                                         const std::vector<Survivor>& family) {
  FamilyRun f{spec, family, {}, {}, {}, std::vector<std::optional<double>>(family.size())};
  for (const Survivor& v : family) f.keys.push_back(equivalence_key(*v.candidate, *v.screening));
  add_memory_bounds(f);
  std::vector<std::string> out;
  for (std::size_t j = 0; j < family.size(); ++j) out.push_back(evaluate_in_family(f, j));
  return out;
}

std::string evaluate_candidate(const PlanSpec& spec, const Candidate& c, const Screening& screen) {
  return evaluate_family(spec, {Survivor{&c, &screen}}).front();
}

std::vector<std::string> evaluate_candidates(
    std::size_t count, const std::function<std::string(std::size_t)>& evaluate) {
  // This run's workers: threads here; MPI ranks or a --shard's share under kvsim plan.
  return distributed::map_items(count, evaluate);
}

}  // namespace kvsim::plan
