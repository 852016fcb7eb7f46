// Trace and empirical-length CSVs for the workload (see workload_trace.hpp).
#include "sim/serving/workload_trace.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "sim/core/input_file.hpp"
#include "sim/core/table.hpp"
#include "sim/serving/workload.hpp"

namespace kvsim::serving {
namespace {

// A CSV cell as a number: a whole count of tokens in [1, kMaxRequestTokens], or a time in
// seconds in [0, kMaxArrivalSeconds]; nullopt when it is neither.
std::optional<std::int64_t> tokens_cell(std::string_view cell) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  if (ec != std::errc() || end != cell.data() + cell.size()) return std::nullopt;
  if (v < 1 || v > kMaxRequestTokens) return std::nullopt;
  return v;
}
std::optional<double> seconds_cell(std::string_view cell) {
  double v = 0;
  const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  if (ec != std::errc() || end != cell.data() + cell.size()) return std::nullopt;
  if (!(v >= 0 && v <= kMaxArrivalSeconds)) return std::nullopt;
  return v;
}

struct Columns {
  const std::string& prompt;
  const std::string& output;
  const std::string& arrival;  // empty: no arrival times
};

// The next line of `text` from `at` (past its '\n', which is not included), advancing `at`.
std::string_view next_line(std::string_view text, std::size_t& at) {
  const std::size_t end = std::min(text.find('\n', at), text.size());
  const std::string_view line = text.substr(at, end - at);
  at = end + 1;
  return line;
}

// `line` split at its commas into `fields` (reused, so no allocation per line).
void split(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  for (std::size_t at = 0;;) {
    const std::size_t comma = line.find(',', at);
    fields.push_back(line.substr(at, comma == std::string_view::npos ? comma : comma - at));
    if (comma == std::string_view::npos) return;
    at = comma + 1;
  }
}

// The rows of CSV text holding no quote and no carriage return but at a line's end, read without
// building a Table of strings (a 19,366-row trace that way cost 44 M instructions, a twentieth of a
// 10,000-request serving run): the rows parse_csv and table_rows give for the same text. None
// when the text has a quote or a stray carriage return, or holds anything table_rows would refuse:
// the caller then goes that way, which names the fault.
std::optional<std::vector<TraceRow>> unquoted_rows(std::string_view text, const Columns& c) {
  if (text.empty() || text.find('"') != std::string_view::npos) return std::nullopt;
  std::vector<std::string_view> fields;
  std::size_t at = 0;
  const auto line = [&] {
    std::string_view l = next_line(text, at);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    return l;
  };
  std::string_view header = line();
  if (header.find('\r') != std::string_view::npos) return std::nullopt;
  split(header, fields);
  const std::vector<std::string_view> columns = fields;
  const auto column = [&](const std::string& name) {
    const auto it = std::find(columns.begin(), columns.end(), name);
    return it == columns.end() ? -1 : static_cast<int>(it - columns.begin());
  };
  const int a = c.arrival.empty() ? -1 : column(c.arrival);
  const int p = column(c.prompt);
  const int d = column(c.output);
  if (p < 0 || d < 0) return std::nullopt;
  std::vector<TraceRow> rows;
  while (at < text.size()) {
    const std::string_view l = line();
    if (l.empty()) continue;  // parse_csv skips empty lines too
    if (l.find('\r') != std::string_view::npos) return std::nullopt;
    split(l, fields);
    if (fields.size() != columns.size()) return std::nullopt;
    const auto arrival = a >= 0 ? seconds_cell(fields[static_cast<std::size_t>(a)])
                                : std::optional<double>(0.0);
    const auto prompt = tokens_cell(fields[static_cast<std::size_t>(p)]);
    const auto output = tokens_cell(fields[static_cast<std::size_t>(d)]);
    if (!arrival || !prompt || !output) return std::nullopt;
    if (!rows.empty() && *arrival < rows.back().arrival) return std::nullopt;
    rows.push_back({*arrival, *prompt, *output});
  }
  if (rows.empty()) return std::nullopt;
  return rows;
}

// The rows of a parsed CSV, each checked, with an InputError naming the line of the first fault.
std::vector<TraceRow> table_rows(const ConfigNode& file_node, const std::string& path,
                                 const Table& t, const Columns& c) {
  const int a = c.arrival.empty() ? -1 : t.column(c.arrival);
  const int p = t.column(c.prompt);
  const int d = t.column(c.output);
  if (p < 0 || d < 0) {
    file_node.fail(fmt::format("'{}' needs columns {} and {}{}", path, c.prompt, c.output,
                               c.arrival.empty() ? "" : " (and " + c.arrival + " for arrivals)"));
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
                                 path, i + 2, c.arrival, row[a], i + 1, t.rows[i - 1][a],
                                 c.arrival));
    }
    rows.push_back({*arrival, *prompt, *output});
  }
  if (rows.empty()) file_node.fail(fmt::format("'{}' has no rows", path));
  return rows;
}

}  // namespace

// Rows of a CSV: arrival times (when `arrival_column` is given and present) and the two length
// columns. Arrival times must not decrease: a trace is replayed in file order.
std::vector<TraceRow> read_trace(const ConfigNode& file_node, const std::string& prompt_column,
                                 const std::string& output_column,
                                 const std::string& arrival_column) {
  const std::string path = file_node.resolve_path(file_node.as_string());
  const std::string text = read_input_file(path);
  const Columns columns{prompt_column, output_column, arrival_column};
  if (auto rows = unquoted_rows(text, columns)) return std::move(*rows);
  return table_rows(file_node, path, parse_csv(text, path), columns);
}

std::vector<TraceRow> read_trace(const ConfigNode& file_node) {
  return read_trace(file_node, "num_prefill_tokens", "num_decode_tokens", "arrived_at");
}

}  // namespace kvsim::serving
