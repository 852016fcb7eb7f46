#pragma once
// How kvsim's figures read: the words on legends and axes, the colours and the tick marks.
// `kvsim plot` (sim/report/plot.cpp) builds every figure in results/ through these, so a figure
// says "KVR-S" and "TTFT (ms)" where the CSV says `kvr/search.ttft_ms`.
//
// Names come from the column names kvsim writes: a sweep column is `STRATEGY.METRIC`
// (`kvr/even.ttft_ms`, `serve.goodput`), a metric ends in its unit (`_ms`, `_s`, `_bytes`).
// Anything not recognised is shown as written, never guessed at.
//
// Every string returned here is plain text for a label: the caller passes it to gnuplot only
// through gnuplot_string() (plot.hpp), like any other text from the CSV.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kvsim::report::style {

/// The paper's name for a strategy key: "tsp" -> "TSP", "kvr/search" -> "KVR-S",
/// "kvr/even" -> "KVR-E", "kvr/predicted" -> "KVR-P", "tp" -> "TP"; other keys as given.
std::string strategy_name(std::string_view key);

/// "kvr/search.ttft_ms" -> {"kvr/search", "ttft_ms"}; a column without a dot -> {"", column}.
std::pair<std::string, std::string> split_column(std::string_view column);

/// A metric's label with its unit: "ttft_p99_ms" -> "TTFT p99 (ms)", "speedup" -> "speed-up",
/// "request_throughput" -> "request throughput (requests/s)", "context" -> "context (tokens)".
std::string metric_label(std::string_view metric);

/// The axis label of one column: its metric's label, after the strategy's name when the
/// strategy is not "serve" ("kvr/even.speedup" -> "KVR-E speed-up").
std::string axis_label(std::string_view column);

/// One legend entry per column: only the strategy names when every column has the same
/// metric (the axis label then names the metric), otherwise each column's axis label.
std::vector<std::string> series_labels(const std::vector<std::string>& columns);

/// The y axis label the columns share (their common metric's label), or "" when they differ.
std::string shared_axis_label(const std::vector<std::string>& columns);

/// gnuplot commands every figure starts with: grid, the legend below the plot (so it takes
/// no width from it), and eight line styles in the Okabe-Ito colour-blind-safe palette, each
/// with its own point and dash pattern so that a grey-scale print still tells them apart.
std::string preamble();

/// The sequential, colour-blind-safe palette of heat maps (viridis' end points).
std::string heatmap_palette();

/// Commands for a logarithmic `axis` ("x" or "y") over `values` (all positive): base 2 with a
/// tick at each power of two when the values are whole numbers from a power of two up (token
/// counts, GPU counts); otherwise
/// base 10 with ticks at 1, 2 and 5 per decade (at 10^k only past four decades), printed as
/// plain numbers ("0.01", "200"), never as exponents of 2.
std::string log_axis(std::string_view axis, const std::vector<double>& values);

}  // namespace kvsim::report::style
