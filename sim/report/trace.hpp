#pragma once
// The prefill strategies' timelines as Chrome trace-event JSON, for https://ui.perfetto.dev and
// chrome://tracing. One process per strategy. Each track of a timeline (a GPU, the network, a
// link) becomes one or more threads, its lanes: slices on one track may overlap (flows share a
// link, KV messages travel side by side), and Perfetto drops a complete ("X") event that
// partially overlaps another on its thread (slice_drop_overlapping_complete_event). So each
// slice goes to the lowest lane free at its start, which takes as many lanes as the most slices
// that overlap at one time. A point-to-point message (KV-Runahead's KV) is also a flow: an
// arrow from the sender's slice through the message to the receiver's next slice.
//
// The JSON is written straight into one string, with no document tree, so memory is the file's
// size plus the slices it comes from; past `max_bytes` the writer stops with an InputError.

#include <cstddef>
#include <string>
#include <vector>

#include "sim/prefill/prefill_strategy.hpp"

namespace kvsim::report {

/// Default bound on trace.json, in bytes (1 GiB); `kvsim run --trace-limit` moves it.
inline constexpr std::size_t kDefaultTraceLimit = std::size_t{1} << 30;

/// A --trace-limit value ("2GiB", "500MB"); throws InputError naming the option.
std::size_t parse_trace_limit(const std::string& text);

/// The trace of `results`; the scenario's `warnings`, if any, go under "otherData" (the
/// format's place for metadata), so a trace of a doubtful result says so. Throws InputError
/// naming `source` (the scenario file) when it would pass `max_bytes`, saying how to raise it.
std::string chrome_trace(const std::vector<prefill::PrefillResult>& results,
                         std::size_t max_bytes = kDefaultTraceLimit,
                         const std::string& source = "",
                         const std::vector<std::string>& warnings = {});

}  // namespace kvsim::report
