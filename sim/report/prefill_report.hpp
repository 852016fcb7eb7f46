#pragma once
// Side-by-side comparison of prefill strategies: the terminal table, the JSON summary, the CSV,
// and the timeline as Chrome trace-event JSON (opens in Perfetto and chrome://tracing).

#include <string>
#include <vector>

#include "sim/network/topology.hpp"
#include "sim/prefill/prefill_strategy.hpp"

namespace kvsim::report {

std::string format_prefill_table(const std::vector<prefill::PrefillResult>& results);
Json prefill_json(const std::vector<prefill::PrefillResult>& results,
                  const net::Topology& topology);
std::string prefill_csv(const std::vector<prefill::PrefillResult>& results);
/// One process per strategy, one thread (track) per GPU stream and per link.
std::string chrome_trace(const std::vector<prefill::PrefillResult>& results);

}  // namespace kvsim::report
