#pragma once
// A table of strings, written and read as CSV (RFC 4180 quoting): what kvsim sweep writes and
// kvsim plot reads.

#include <string>
#include <vector>

namespace kvsim {

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::string csv() const;
  /// Index of a column; -1 if absent.
  int column(const std::string& name) const;
};

/// A CSV file read back; throws InputError naming the file and line.
Table read_csv(const std::string& path);
/// CSV text parsed the same way; `name` stands in for the file in messages.
Table parse_csv(const std::string& text, const std::string& name);

}  // namespace kvsim
