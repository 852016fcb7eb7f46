#pragma once
// Request rows read from a CSV for the workload: a Splitwise/Vidur-style trace (arrival times
// and lengths) or an empirical length distribution.
//
// Who calls it: only the Workload (workload.cpp), once while reading its config. What it must
// not do: keep the file open or hold rows past the Workload that asked for them. Errors are
// InputErrors at the "file" node, naming the CSV line and what would be valid. Units: arrival
// seconds (double) from the trace's start; lengths in tokens, 1..kMaxRequestTokens.

#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/config.hpp"

namespace kvsim::serving {

struct TraceRow {
  double arrival;  // seconds (0 where the CSV has no arrival column)
  std::int64_t prompt;
  std::int64_t output;
};

/// Rows of a CSV: arrival times (when `arrival_column` is given and present) and the two length
/// columns. Arrival times must not decrease: a trace is replayed in file order.
std::vector<TraceRow> read_trace(const ConfigNode& file_node, const std::string& prompt_column,
                                 const std::string& output_column,
                                 const std::string& arrival_column);

/// A Vidur trace: num_prefill_tokens, num_decode_tokens and arrived_at.
std::vector<TraceRow> read_trace(const ConfigNode& file_node);

}  // namespace kvsim::serving
