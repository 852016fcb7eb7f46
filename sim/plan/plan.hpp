#pragma once
// A capacity plan from start to finish, in two phases so a command can print what was pruned
// before anything is simulated:
//   screen_all:   every candidate layout of the search space screened (screening.hpp);
//   evaluate_all: every survivor's rate search (evaluation.hpp), through evaluate_candidates,
//                 one family of survivors (evaluation.hpp) at a time.
// Who calls it: kvsim plan (tools/kvsim/cmd_plan.cpp), the tests and the benchmark. The
// results are in candidate order and do not depend on the thread count.

#include <functional>
#include <vector>

#include "sim/plan/evaluation.hpp"

namespace kvsim::plan {

/// Most candidate layouts a plan may declare (each is screened, and held in memory).
inline constexpr std::size_t kMaxCandidates = 1'000'000;

struct Screened {
  WorkloadStats stats;
  std::vector<Candidate> candidates;     // every candidate, by index
  std::vector<Screening> screenings;     // by index
  std::vector<std::size_t> survivors;    // indices to simulate, ascending
  // The survivors by family (evaluation.hpp: differing only in replicas, KV block size and
  // preemption), families by first member, members ascending.
  std::vector<std::vector<std::size_t>> groups;
};

/// Screens every candidate (in parallel); throws InputError for a plan over kMaxCandidates.
Screened screen_all(const PlanSpec& spec);

/// The layouts' scenario warnings, each once, in candidate order.
std::vector<std::string> layout_warnings(const Screened& screened);

/// Family g's evaluation (evaluate_family of screened.groups[g]), as a JSON array of its
/// members' results: the unit kvsim plan spreads over MPI ranks and --shard runs.
std::string evaluate_group(const PlanSpec& spec, const Screened& screened, std::size_t g);

/// One JSON object per candidate, by index (null for a pruned one), from the groups'
/// evaluate_group results, in group order.
std::vector<Json> evaluations_from(const Screened& screened,
                                   const std::vector<std::string>& results);

/// Evaluates the survivors; `done(n)` after each group (serialised). Returns one JSON object per
/// candidate, by index (null for a pruned one).
std::vector<Json> evaluate_all(const PlanSpec& spec, const Screened& screened,
                               const std::function<void(std::size_t done)>& done);

}  // namespace kvsim::plan
