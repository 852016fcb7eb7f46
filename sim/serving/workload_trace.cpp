// Trace and empirical-length CSVs for the workload (see workload_trace.hpp).
#include "sim/serving/workload_trace.hpp"

#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "sim/core/table.hpp"
#include "sim/serving/workload.hpp"

namespace kvsim::serving {
namespace {

// A CSV cell as a number: a whole count of tokens in [1, kMaxRequestTokens], or a time in
// seconds in [0, kMaxArrivalSeconds]; nullopt when it is neither.
std::optional<std::int64_t> tokens_cell(const std::string& cell) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  if (ec != std::errc() || end != cell.data() + cell.size()) return std::nullopt;
  if (v < 1 || v > kMaxRequestTokens) return std::nullopt;
  return v;
}
std::optional<double> seconds_cell(const std::string& cell) {
  double v = 0;
  const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  if (ec != std::errc() || end != cell.data() + cell.size()) return std::nullopt;
  if (!(v >= 0 && v <= kMaxArrivalSeconds)) return std::nullopt;
  return v;
}

}  // namespace

// Rows of a CSV: arrival times (when `arrival_column` is given and present) and the two length
// columns. Arrival times must not decrease: a trace is replayed in file order.
std::vector<TraceRow> read_trace(const ConfigNode& file_node, const std::string& prompt_column,
                                 const std::string& output_column,
                                 const std::string& arrival_column) {
  const std::string path = file_node.resolve_path(file_node.as_string());
  const Table t = read_csv(path);
  const int a = arrival_column.empty() ? -1 : t.column(arrival_column);
  const int p = t.column(prompt_column);
  const int d = t.column(output_column);
  if (p < 0 || d < 0) {
    file_node.fail(fmt::format("'{}' needs columns {} and {}{}", path, prompt_column,
                               output_column,
                               arrival_column.empty() ? "" : " (and " + arrival_column +
                                                                 " for arrivals)"));
  }
  const auto bad = [&](std::size_t i, int column, const char* valid) {
    file_node.fail(fmt::format("'{}' line {}: {} is '{}'; expected {}", path, i + 2,
                               t.columns[static_cast<std::size_t>(column)],
                               t.rows[i][static_cast<std::size_t>(column)], valid));
  };
  const std::string tokens = fmt::format("a whole number of tokens from 1 to {}", kMaxRequestTokens);
  const std::string seconds = fmt::format("seconds from 0 to {:g}", kMaxArrivalSeconds);
  std::vector<TraceRow> rows;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto& row = t.rows[i];
    const auto arrival = a >= 0 ? seconds_cell(row[a]) : std::optional<double>(0.0);
    const auto prompt = tokens_cell(row[p]);
    const auto output = tokens_cell(row[d]);
    if (!arrival) bad(i, a, seconds.c_str());
    if (!prompt) bad(i, p, tokens.c_str());
    if (!output) bad(i, d, tokens.c_str());
    if (!rows.empty() && *arrival < rows.back().arrival) {
      file_node.fail(fmt::format("'{}' line {}: {} {} is before line {}'s {}; kvsim replays a "
                                 "trace in file order, so sort its rows by {}",
                                 path, i + 2, arrival_column, row[a], i + 1, t.rows[i - 1][a],
                                 arrival_column));
    }
    rows.push_back({*arrival, *prompt, *output});
  }
  if (rows.empty()) file_node.fail(fmt::format("'{}' has no rows", path));
  return rows;
}

std::vector<TraceRow> read_trace(const ConfigNode& file_node) {
  return read_trace(file_node, "num_prefill_tokens", "num_decode_tokens", "arrived_at");
}

}  // namespace kvsim::serving
