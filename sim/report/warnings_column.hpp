#pragma once
// The scenario's warnings as a last `warnings` column of a CSV table, so that a result kvsim
// prints marked on stderr stays marked in every file it writes (as sweep.csv does). Only where
// there is a warning: a run without one keeps its CSV byte for byte.

#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/table.hpp"

namespace kvsim::report {

inline void add_warnings_column(Table& table, const std::vector<std::string>& warnings) {
  if (warnings.empty()) return;
  table.columns.push_back("warnings");
  const std::string all = fmt::format("{}", fmt::join(warnings, "; "));
  for (auto& row : table.rows) row.push_back(all);
}

}  // namespace kvsim::report
