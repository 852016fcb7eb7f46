#pragma once
// Simulating screened candidates: the highest request rate at which each meets the plan's SLOs,
// by serving simulations of the same workload (same seed, so the same gaps scaled by the rate
// and the same lengths: common random numbers, rates compare cleanly).
//
// Per layout: simulate at the target rate; a layout that misses the SLOs there is rejected with
// the SLOs it missed and stops (one simulation, itself stopped as soon as an SLO is certainly
// missed: slo_watch.hpp). Otherwise the rate search of rate_search.hpp over the grid target x
// (1 + rate_tolerance)^k up to the analytic bound: the answer lo meets every SLO, the next
// point hi misses (hi / lo <= 1 + rate_tolerance); a layout that meets them at its analytic
// bound stops there.
//
// Layouts are evaluated by family: those differing only in replicas, KV block size and
// preemption, in candidate order (replicas ascending), in one call, which allows two
// shortcuts, each giving the same answer with fewer simulations:
//   estimate_from_fewer_replicas: the rate search starts at the highest rate of the family's
//     feasible layout with the most replicas below this one's, scaled by the replicas (without
//     one, the rate doubles from the target); where it starts changes its cost, never its
//     grid point (rate_search.hpp);
//   reuse_equivalent_layouts: a layout's simulation at a rate is taken from an earlier
//     layout's at the same rate wherever equivalence.hpp's proof holds for both (they differ
//     only in block size and preemption); its JSON then says "same_result_as" that layout.
//
// Who calls it: evaluate_group (plan.hpp), through evaluate_candidates, the ONE place family
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

/// A candidate that passed screening.
struct Survivor {
  const Candidate* candidate;
  const Screening* screening;
};

/// Evaluates a family of survivors (differing only in replicas, block size and preemption), in
/// candidate order. Pure and deterministic: the same plan and family give byte-identical
/// texts, one per survivor. Each JSON has "status" ("feasible" or
/// "rejected"), "reason", "max_rate", "rate_bracket", "simulations" (run for this layout),
/// "at_target" and "at_max_rate" (summary_metrics), and "same_result_as" (a candidate index)
/// when every simulation it needed was an earlier layout's.
std::vector<std::string> evaluate_family(const PlanSpec& spec,
                                         const std::vector<Survivor>& family);

/// One survivor alone (a group of one).
std::string evaluate_candidate(const PlanSpec& spec, const Candidate& c, const Screening& screen);

/// Runs evaluate(i) for every i in [0, count) over this run's workers (distributed::map_items:
/// oneTBB threads, and MPI ranks or a --shard's share when kvsim plan runs so) and returns the
/// results in index order, whatever the split (on rank 0; see sim/distributed/work_split.hpp).
/// When evaluations throw, the lowest index's exception is rethrown after all finish.
std::vector<std::string> evaluate_candidates(
    std::size_t count, const std::function<std::string(std::size_t)>& evaluate);

}  // namespace kvsim::plan
