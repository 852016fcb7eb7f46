#include "sim/core/table.hpp"

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/core/input_file.hpp"

namespace kvsim {
namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string Table::csv() const {
  std::string out;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    out += (c ? "," : "") + csv_field(columns[c]);
  }
  out += "\n";
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) out += (c ? "," : "") + csv_field(row[c]);
    out += "\n";
  }
  return out;
}

int Table::column(const std::string& name) const {
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (columns[c] == name) return static_cast<int>(c);
  }
  return -1;
}

Table read_csv(const std::string& path) { return parse_csv(read_input_file(path), path); }

Table parse_csv(const std::string& text, const std::string& path) {
  Table t;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  std::size_t line = 1;
  auto end_row = [&] {
    row.push_back(std::move(field));
    field.clear();
    if (t.columns.empty()) {
      t.columns = std::move(row);
    } else if (!(row.size() == 1 && row[0].empty())) {
      if (row.size() != t.columns.size()) {
        throw InputError(path, "", fmt::format("line {} has {} fields, the header {}", line,
                                               row.size(), t.columns.size()));
      }
      t.rows.push_back(std::move(row));
    }
    row.clear();
    ++line;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (ch == '\n') {
      end_row();
    } else if (ch != '\r') {
      field += ch;
    }
  }
  if (quoted) throw InputError(path, "", fmt::format("line {}: unterminated quote", line));
  if (!field.empty() || !row.empty()) end_row();
  if (t.columns.empty()) throw InputError(path, "", "the CSV file is empty");
  return t;
}

}  // namespace kvsim
