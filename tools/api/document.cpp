// Reading inputs the way every command does (see api.hpp), and tables as columns.
#include <charconv>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/input_error.hpp"
#include "tools/api/api.hpp"
#include "tools/api/overrides.hpp"

namespace kvsim::api {

ConfigDocument read_document(const std::string& path, const std::vector<std::string>& overrides) {
  ConfigDocument doc = ConfigDocument::load_file(path);
  apply_overrides(doc, overrides);
  return doc;
}

Scenario read_scenario(const ConfigDocument& doc, bool strict) {
  Scenario s = load_scenario(doc);
  refuse_warnings_if_strict(s, strict);
  return s;
}

void refuse_warnings_if_strict(const Scenario& s, bool strict) {
  if (!strict || s.warnings.empty()) return;
  throw InputError(s.file, "",
                   fmt::format("--strict refuses the scenario's warnings: {}",
                               fmt::join(s.warnings, "; ")));
}

namespace {

// A cell as JSON: a finite number where the whole cell is one (the CSVs write numbers in
// decimal), null where empty, else the text (labels, partitions, warnings).
nlohmann::ordered_json cell(const std::string& text) {
  if (text.empty()) return nullptr;
  double v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec == std::errc() && ptr == end && std::isfinite(v)) {
    std::int64_t i = 0;  // integers stay integers (ids, token counts)
    const auto [iptr, iec] = std::from_chars(text.data(), end, i);
    if (iec == std::errc() && iptr == end) return i;
    return v;
  }
  return text;
}

}  // namespace

nlohmann::ordered_json columns(const Table& table) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    nlohmann::ordered_json column = nlohmann::ordered_json::array();
    for (const auto& row : table.rows) column.push_back(cell(row[c]));
    out[table.columns[c]] = std::move(column);
  }
  return out;
}

}  // namespace kvsim::api
