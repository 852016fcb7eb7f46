#pragma once
// The outputs of a plan: every candidate with its verdict (plan.csv, plan.json), the feasible
// layouts ranked cheapest first, the cost-against-latency Pareto frontier (pareto.csv) and a
// Markdown report (plan.md).
//
// Ranking: feasible layouts (meeting every SLO at the target rate) by cost per hour, then by
// the highest rate meeting the SLOs (higher first), then by candidate index. Cost per million
// output tokens is at that highest rate (the layout loaded to what its SLOs allow). Latencies
// and GPU utilisation are at the target rate. The Pareto frontier: the feasible layouts that no
// other is at least as cheap and as fast as, by cost per hour and the plan's pareto_metric at
// the target rate.
// Who calls it: kvsim plan and the tests. Pure: same inputs, byte-identical outputs.

#include <optional>
#include <string>

#include "sim/core/table.hpp"
#include "sim/plan/plan.hpp"

namespace kvsim::plan {

struct PlanReport {
  Json json;
  Table table;    // one row per candidate, by index
  Table pareto;   // the frontier, cheapest first
  std::string markdown;
  std::vector<std::size_t> ranked;  // feasible candidate indices, best first
  std::vector<std::string> warnings;  // the layouts' scenario warnings, each once
};

PlanReport build_report(const PlanSpec& spec, const Screened& screened,
                        const std::vector<Json>& evaluations);

}  // namespace kvsim::plan
