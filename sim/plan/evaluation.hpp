#pragma once
// Simulating a screened candidate: the highest request rate at which it meets the plan's SLOs,
// by a bracketing search over serving simulations of the same workload (same seed, so the same
// gaps scaled by the rate and the same lengths: common random numbers, rates compare cleanly).
//
// The search: simulate at the target rate; a layout that misses the SLOs there is rejected
// with the SLOs it missed and stops (early stop: one simulation). Otherwise double the rate
// (never past the analytic bound) until a rate misses, then bisect geometrically until
// hi / lo <= 1 + rate_tolerance. The answer is lo, a simulated rate that meets every SLO; the
// true highest rate lies in [lo, hi). A layout that meets them at its analytic bound stops
// there (the bound is an upper bound: no higher rate is searched).
//
// Who calls it: run_plan (plan.hpp), through evaluate_candidates, the ONE place candidate
// evaluations are spread over workers (threads here; processes, ranks or shards wherever that
// function sends them). Results are JSON text, so they can cross process boundaries.

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "sim/plan/screening.hpp"

namespace kvsim::plan {

/// The SLOs `summary` (a serving summary) misses, as "ttft_p99 2.31 s > 2 s"; empty: all met.
std::vector<std::string> slo_violations(const PlanSpec& spec, const Json& summary);

/// The plan's view of a serving summary: each SLO metric's mean/p50/p90/p99, throughputs,
/// goodput, SLO attainment and GPU utilisation.
Json summary_metrics(const Json& summary);

/// Evaluates a candidate that passed screening: the rate search above. Pure and deterministic:
/// the same plan, candidate and screening give byte-identical text. The JSON has "status"
/// ("feasible" or "rejected"), "reason", "max_rate", "rate_bracket", "simulations",
/// "at_target" and "at_max_rate" (summary_metrics).
std::string evaluate_candidate(const PlanSpec& spec, const Candidate& c, const Screening& screen);

/// Runs evaluate(i) for every i in [0, count) over this run's workers (distributed::map_items:
/// oneTBB threads, and MPI ranks or a --shard's share when kvsim plan runs so) and returns the
/// results in index order, whatever the split (on rank 0; see sim/distributed/work_split.hpp). When evaluations throw, the
/// lowest index's exception is rethrown after all finish.
std::vector<std::string> evaluate_candidates(
    std::size_t count, const std::function<std::string(std::size_t)>& evaluate);

}  // namespace kvsim::plan
