// The rate search over serving simulations (see evaluation.hpp).
#include "sim/plan/evaluation.hpp"

#include "sim/distributed/work_split.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/scenario/scenario.hpp"
#include "sim/serving/engine.hpp"
#include "sim/sweep/sweep.hpp"

namespace kvsim::plan {
namespace {

// The share of requests meeting the attainment targets (rejected requests count as missing).
double attainment(const Json& summary) {
  const double all = summary.at("requests").get<double>() + summary.at("rejected").get<double>();
  return all > 0 ? summary.at("requests_meeting_slo").get<double>() / all : 0.0;
}

// Thrown by an observer to stop a simulation whose SLOs are already certainly missed.
struct SloCertainlyMissed {
  std::string what;  // "ttft_p99: 21 of 2000 requests over 2 s"
};

// Counts finished requests that certainly break a limit (beyond 1% over it: serving's
// histogram percentiles are within 0.39% of the sample at their rank), and stops the run once
// the limit cannot be met whatever the remaining requests do. With N requests in the workload
// and c <= N samples, a percentile q is missed once more than N - ceil(q N) samples exceed the
// limit (c - ceil(q c) grows with c); a mean once the samples' sum exceeds the limit x N; the
// attainment share once more than N (1 - share) requests miss their targets. A run that
// rejects a request misses its SLOs anyway, so N may count it. ITL limits are not watched.
class SloWatch {
 public:
  SloWatch(const PlanSpec& spec, std::uint64_t requests)
      : spec_(spec), n_(static_cast<double>(requests)), bad_(spec.slo.limits.size(), 0.0) {}

  void finished(const serving::RequestRecord& q) {
    const double ttft = q.first_token - q.arrival;
    const double e2e = q.completion - q.arrival;
    const std::optional<double> tpot =
        q.output > 1 ? std::optional<double>((q.completion - q.first_token) /
                                             static_cast<double>(q.output - 1))
                     : std::nullopt;
    for (std::size_t i = 0; i < bad_.size(); ++i) {
      const SloLimit& l = spec_.slo.limits[i];
      const std::optional<double> v = l.metric == "ttft" ? std::optional<double>(ttft)
                                      : l.metric == "e2e" ? std::optional<double>(e2e)
                                      : l.metric == "tpot" ? tpot
                                                           : std::nullopt;
      if (!v) continue;
      if (l.stat == "mean") {
        bad_[i] += *v;
        if (bad_[i] > kMargin * l.seconds * n_) {
          throw SloCertainlyMissed{fmt::format("{}: the sum so far exceeds {:.4g} s x {} requests",
                                               l.key, l.seconds, n_)};
        }
      } else if (*v > kMargin * l.seconds && ++bad_[i] > n_ - std::ceil(quantile(l.stat) * n_)) {
        throw SloCertainlyMissed{
            fmt::format("{}: {} of {} requests over {:.4g} s", l.key, bad_[i], n_, l.seconds)};
      }
    }
    const SloSpec& a = spec_.slo;
    if (a.has_attainment() && ((a.ttft_s && ttft > kMargin * *a.ttft_s) ||
                               (a.tpot_s && tpot && *tpot > kMargin * *a.tpot_s))) {
      if (++missed_attainment_ > n_ * (1 - a.share)) {
        throw SloCertainlyMissed{fmt::format("attainment: {} of {} requests miss their targets",
                                             missed_attainment_, n_)};
      }
    }
  }

 private:
  static constexpr double kMargin = 1.01;
  static double quantile(const std::string& stat) {
    return stat == "p50" ? 0.5 : stat == "p90" ? 0.9 : 0.99;
  }
  const PlanSpec& spec_;
  double n_;
  std::vector<double> bad_;  // per limit: samples over it, or the sum of samples (mean)
  double missed_attainment_ = 0;
};

// One serving simulation of the candidate at `rate`, on the candidate's loaded scenario; when
// it was stopped because its SLOs were certainly missed (SloWatch), {"stopped": why}.
Json simulate(const PlanSpec& spec, const Candidate& c, const Scenario& s, double rate) {
  const ConfigDocument doc = scenario_document(spec, c, rate);
  const ConfigNode serving = doc.root().at("serving");
  serving::ServingSetup setup = serving::ServingSetup::from_config(serving, s);
  serving::Workload workload(serving.at("workload"), RandomStreams(s.seed), s.model.max_context);
  SloWatch watch(spec, workload.total());
  serving::ServingObservers observers;
  observers.request = [&watch](const serving::RequestRecord& q) { watch.finished(q); };
  try {
    return serving::simulate_serving(s, setup, std::move(workload), observers).summary;
  } catch (const SloCertainlyMissed& e) {
    return Json{{"stopped", e.what}};
  }
}

bool stopped(const Json& summary) { return summary.contains("stopped"); }

// The SLOs a simulation missed; a stopped one says which, without the run's statistics.
std::vector<std::string> missed_slos(const PlanSpec& spec, const Json& summary) {
  if (stopped(summary)) {
    return {fmt::format("{} (stopped early: certainly missed)",
                        summary["stopped"].get<std::string>())};
  }
  return slo_violations(spec, summary);
}

struct Search {
  double lo = 0;                 // the highest rate known to meet the SLOs
  std::optional<double> hi;      // the lowest rate known to miss them
  Json at_lo;                    // summary at lo
  std::vector<std::string> missed_at_hi;
  int simulations = 0;
  bool reached_bound = false;
};

// Doubles from the target rate up to the bound until a rate misses, then bisects.
void bracket(const PlanSpec& spec, const Candidate& c, const Scenario& s, double bound,
             Search& r) {
  const double close = 1 + spec.rate_tolerance;
  const auto probe = [&](double rate) {
    Json summary = simulate(spec, c, s, rate);
    ++r.simulations;
    auto missed = missed_slos(spec, summary);
    if (missed.empty()) {
      r.lo = rate;
      r.at_lo = std::move(summary);
    } else {
      r.hi = rate;
      r.missed_at_hi = std::move(missed);
    }
  };
  while (!r.hi && !r.reached_bound) {
    const double next = std::min(2 * r.lo, bound);
    if (next <= r.lo * close) {
      r.reached_bound = true;
      break;
    }
    probe(next);
    if (!r.hi && next == bound) r.reached_bound = true;
  }
  while (r.hi && *r.hi > r.lo * close) probe(std::sqrt(r.lo * *r.hi));
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

std::string evaluate_candidate(const PlanSpec& spec, const Candidate& c, const Screening& screen) {
  Json out{{"index", c.index}};
  try {
    const Scenario s = load_scenario(scenario_document(spec, c, spec.rate));
    Search r;
    const Json at_target = simulate(spec, c, s, spec.rate);
    r.simulations = 1;
    if (!stopped(at_target)) out["at_target"] = summary_metrics(at_target);
    if (const auto missed = missed_slos(spec, at_target); !missed.empty()) {
      out["status"] = "rejected";
      out["reason"] = fmt::format("at the target {:.4g} requests/s: {}", spec.rate,
                                  fmt::join(missed, "; "));
    } else {
      r.lo = spec.rate;
      r.at_lo = at_target;
      bracket(spec, c, s, screen.rate_bound, r);
      out["status"] = "feasible";
      out["max_rate"] = r.lo;
      out["rate_bracket"] = {r.lo, r.hi ? Json(*r.hi) : Json(nullptr)};
      out["reached_bound"] = r.reached_bound;
      out["missed_above"] = fmt::format("{}", fmt::join(r.missed_at_hi, "; "));
      out["at_max_rate"] = summary_metrics(r.at_lo);
    }
    out["simulations"] = r.simulations;
  } catch (const InputError& e) {
    out["status"] = "rejected";
    out["reason"] = e.message();
  }
  return out.dump();
}

std::vector<std::string> evaluate_candidates(
    std::size_t count, const std::function<std::string(std::size_t)>& evaluate) {
  // This run's workers: threads here; MPI ranks or a --shard's share under kvsim plan.
  return distributed::map_items(count, evaluate);
}

}  // namespace kvsim::plan
