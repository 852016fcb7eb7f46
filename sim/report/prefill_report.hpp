#pragma once
// Side-by-side comparison of prefill strategies: the terminal table, the JSON summary and the
// CSV. The timeline as Chrome trace-event JSON is in trace.hpp.

#include <string>
#include <vector>

#include "sim/network/topology.hpp"
#include "sim/prefill/prefill_strategy.hpp"
#include "sim/report/trace.hpp"

namespace kvsim::report {

std::string format_prefill_table(const std::vector<prefill::PrefillResult>& results);
Json prefill_json(const std::vector<prefill::PrefillResult>& results,
                  const net::Topology& topology);
/// One row per strategy; a last `warnings` column (every row: the scenario's warnings joined by
/// "; ") only when `warnings` is not empty.
std::string prefill_csv(const std::vector<prefill::PrefillResult>& results,
                        const std::vector<std::string>& warnings = {});

}  // namespace kvsim::report
