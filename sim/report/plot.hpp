#pragma once
// Figures from CSV tables through gnuplot: the script is generated here (data inline), gnuplot
// renders it to SVG and PNG. Four kinds:
//   lines    x against one or more y columns, one line per y column and value of --group;
//   cdf      the empirical distribution of the x column, one line per value of --group
//            (latency CDFs from kvsim serve's requests.csv);
//   bars     grouped bars: one group per x value (a category), one bar per y column;
//   heatmap  z over (x, y) as coloured cells (the TTFT landscape over two cut points); a grid
//            that is not evenly spaced (context lengths 1k..128k) or not numeric (models,
//            networks) is drawn as categories, one equal cell per value, each cell labelled
//            with its value when the grid is small enough to read (at most 256 cells).
// Legends and axes name strategies and units as the paper does ("KVR-S", "TTFT (ms)"; see
// plot_style.hpp), in a colour-blind-safe palette; marks (--mark) point at places such as
// KVR-E's and KVR-S's partitions on a TTFT landscape.
//
// Text from the user or the CSV (titles, labels, column names, --group values, categories)
// reaches gnuplot only through gnuplot_string(): gnuplot runs back-quoted text inside
// double-quoted strings as a shell command, but never inside single-quoted ones. Inline data
// blocks hold numbers only.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/table.hpp"

namespace kvsim::report {

/// A labelled point (x and y) or, without y, a labelled vertical line at x.
struct PlotMark {
  double x = 0;
  std::optional<double> y;
  std::string label;
};

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
  std::vector<PlotMark> marks;
};

/// Reads `X=LABEL` or `X,Y=LABEL` (kvsim plot's --mark); throws InputError naming `source`.
PlotMark parse_mark(std::string_view text, const std::string& source);

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
