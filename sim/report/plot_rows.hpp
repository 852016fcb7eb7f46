#pragma once
// Internal to sim/report's figures (plot.cpp, plot_heatmap.cpp): the CSV rows a figure draws,
// read as numbers with errors that name the CSV's line and column, and the axis values drawn,
// from which the logarithmic ticks are chosen.

#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/core/table.hpp"
#include "sim/report/plot.hpp"

namespace kvsim::report::detail {

// The rows --where keeps, and their cells read as numbers. Errors name the CSV line: kvsim's
// CSVs hold one record a line under a one-line header, so row r is on line r + 2.
class Rows {
 public:
  Rows(const Table& table, const PlotSpec& spec, const std::string& source)
      : t_(table), source_(source) {
    std::vector<std::pair<int, std::string>> filters;
    for (const auto& [name, value] : spec.where) {
      filters.emplace_back(column(name, "--where"), value);
    }
    for (std::size_t r = 0; r < t_.rows.size(); ++r) {
      const auto& row = t_.rows[r];
      if (std::all_of(filters.begin(), filters.end(),
                      [&](const auto& f) { return row[f.first] == f.second; })) {
        kept_.push_back(r);
      }
    }
    if (kept_.empty()) throw InputError(source_, "", "no rows left to plot (check --where)");
  }

  int column(const std::string& name, std::string_view option) const {
    const int c = t_.column(name);
    if (c < 0) {
      throw InputError(source_, "line 1",
                       fmt::format("no column '{}' (named by {}); {}", name, option,
                                   valid_values_hint(name, t_.columns)));
    }
    return c;
  }
  const std::string& cell(std::size_t r, int c) const { return t_.rows[r][c]; }
  double number(std::size_t r, int c) const {
    const std::string& s = cell(r, c);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size()) {
      throw InputError(source_, fmt::format("line {}, column '{}'", r + 2, t_.columns[c]),
                       fmt::format("'{}' is not a number", s));
    }
    return v;
  }
  // A cell on an axis: on a logarithmic one it must be positive, since gnuplot drops zero and
  // negative values without a word (and fails, exit 3, when none is left).
  double on_axis(std::size_t r, int c, bool log, std::string_view flag) const {
    const double v = number(r, c);
    if (log && !(v > 0)) {
      throw InputError(source_, fmt::format("line {}, column '{}'", r + 2, t_.columns[c]),
                       fmt::format("{} needs positive values, got '{}'; drop {} or the "
                                   "row (--where)",
                                   flag, cell(r, c), flag));
    }
    return v;
  }
  const std::vector<std::size_t>& kept() const { return kept_; }
  const std::string& source() const { return source_; }

 private:
  const Table& t_;
  const std::string& source_;
  std::vector<std::size_t> kept_;
};

// The values a figure puts on its axes (for the choice of logarithmic ticks).
struct AxisValues {
  std::vector<double> x;
  std::vector<double> y;
};

/// The heat map's commands and data: z over the (x, y) grid, see heatmap_plot in plot.hpp's
/// kinds. Grids whose values are not evenly spaced, or not numbers, are drawn as categories:
/// one equal cell per value, labelled with it, so no cell is a sliver of a log-spaced axis.
/// `marks` arrive in the CSV's values and leave in the figure's coordinates (a category's
/// index); a mark off a categorical grid is an InputError.
std::string heatmap_plot(const Rows& rows, const PlotSpec& spec, int x,
                         std::vector<PlotMark>& marks);

}  // namespace kvsim::report::detail
