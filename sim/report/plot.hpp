#pragma once
// Figures from CSV tables through gnuplot: the script is generated here (data inline), gnuplot
// renders it to SVG and PNG. Four kinds:
//   lines    x against one or more y columns, one line per y column and value of --group;
//   cdf      the empirical distribution of the x column, one line per value of --group
//            (latency CDFs from kvsim serve's requests.csv);
//   bars     grouped bars: one group per x value (a category), one bar per y column;
//   heatmap  z over (x, y) as coloured cells (the TTFT landscape over two cut points).
//
// Text from the user or the CSV (titles, labels, column names, --group values, categories)
// reaches gnuplot only through gnuplot_string(): gnuplot runs back-quoted text inside
// double-quoted strings as a shell command, but never inside single-quoted ones. Inline data
// blocks hold numbers only.

#include <string>
#include <string_view>
#include <vector>

#include "sim/core/table.hpp"

namespace kvsim::report {

struct PlotSpec {
  std::string kind = "lines";  // lines | cdf | bars | heatmap
  std::string x;
  std::vector<std::string> y;  // lines, bars: columns; heatmap: one column (the cells' y)
  std::string z;               // heatmap: the colour
  std::string group;           // lines, cdf: one line per value of this column
  std::vector<std::pair<std::string, std::string>> where;  // keep rows with column == value
  std::string title;
  std::string xlabel;
  std::string ylabel;
  bool logx = false;
  bool logy = false;
};

/// `text` as a gnuplot single-quoted string literal: a quote is doubled (gnuplot's only escape
/// there), and control characters, which would end the command line, become spaces.
std::string gnuplot_string(std::string_view text);

/// The gnuplot script (without terminal and output) for `table`; throws InputError naming
/// `source`, and the line and column where one applies, when a column is missing or a cell is
/// not numeric where it must be.
std::string gnuplot_script(const Table& table, const PlotSpec& spec,
                           const std::string& source);

/// Renders the script to `base`.svg and `base`.png (written to temporaries, then renamed).
/// Throws std::runtime_error when gnuplot is missing or fails.
void render(const std::string& script, const std::string& base);

}  // namespace kvsim::report
