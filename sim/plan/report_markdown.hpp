#pragma once
// plan.md: the plan's answer for people (README, CI summaries): the target, what was pruned
// and why, the ranked feasible layouts, the Pareto frontier and each rejected layout's reason.
// Who calls it: build_report (report.hpp), from the plan.json it has built.

#include <string>

#include "sim/plan/plan.hpp"

namespace kvsim::plan {

std::string markdown(const PlanSpec& spec, const Screened& screened, const Json& plan);

}  // namespace kvsim::plan
