#include "sim/report/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/input_error.hpp"

namespace kvsim::report {
namespace {

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

std::string header(const PlotSpec& s) {
  std::string out = "set encoding utf8\nset key outside right top\nset grid\n";
  if (!s.title.empty()) out += fmt::format("set title {} noenhanced\n", gnuplot_string(s.title));
  out += fmt::format("set xlabel {} noenhanced\n",
                     gnuplot_string(s.xlabel.empty() ? s.x : s.xlabel));
  const std::string yl = !s.ylabel.empty() ? s.ylabel
                         : s.kind == "cdf"     ? "fraction of rows at or below"
                         : s.kind == "heatmap" ? (s.y.empty() ? "" : s.y.front())
                         : s.y.size() == 1     ? s.y.front()
                                               : "";
  out += fmt::format("set ylabel {} noenhanced\n", gnuplot_string(yl));
  if (s.logx) out += "set logscale x 2\n";
  if (s.logy) out += "set logscale y\n";
  return out;
}

std::string plot_command(const std::vector<std::string>& plots) {
  return "plot " + fmt::format("{}", fmt::join(plots, ", \\\n     ")) + "\n";
}

// Smallest positive gap between distinct sorted values (cell size of a heat map).
double cell_size(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double gap = std::numeric_limits<double>::infinity();
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (v[i] > v[i - 1]) gap = std::min(gap, v[i] - v[i - 1]);
  }
  return std::isfinite(gap) ? gap : 1.0;
}

// The values of column `g` in order of first appearance ({""} without a group column).
std::vector<std::string> groups_of(const Rows& rows, int g) {
  if (g < 0) return {""};
  std::vector<std::string> groups;
  for (const std::size_t r : rows.kept()) {
    if (std::find(groups.begin(), groups.end(), rows.cell(r, g)) == groups.end()) {
      groups.push_back(rows.cell(r, g));
    }
  }
  return groups;
}

std::string lines_plot(const Rows& rows, const PlotSpec& spec, int x) {
  if (spec.y.empty()) throw InputError(rows.source(), "", "lines need at least one --y column");
  const int g = spec.group.empty() ? -1 : rows.column(spec.group, "--group");
  const std::vector<std::string> groups = groups_of(rows, g);
  std::string out;
  std::vector<std::string> plots;
  for (const std::string& ycol : spec.y) {
    const int y = rows.column(ycol, "--y");
    for (const std::string& group : groups) {
      std::vector<std::pair<double, double>> points;
      for (const std::size_t r : rows.kept()) {
        if ((g >= 0 && rows.cell(r, g) != group) || rows.cell(r, y).empty()) continue;
        points.emplace_back(rows.on_axis(r, x, spec.logx, "--logx"),
                            rows.on_axis(r, y, spec.logy, "--logy"));
      }
      if (points.empty()) continue;  // gnuplot refuses an empty data block
      std::sort(points.begin(), points.end());
      const auto block = plots.size();
      out += fmt::format("$d{} << EOD\n", block);
      for (const auto& [a, b] : points) out += fmt::format("{} {}\n", a, b);
      out += "EOD\n";
      const std::string label = g >= 0 ? fmt::format("{} {}={}", ycol, spec.group, group) : ycol;
      plots.push_back(fmt::format("$d{} using 1:2 with linespoints lw 2 title {} noenhanced",
                                  block, gnuplot_string(label)));
    }
  }
  if (plots.empty()) throw InputError(rows.source(), "", "the --y columns hold no values");
  return out + plot_command(plots);
}

// The empirical CDF of the x column, one line per value of --group, at most kPoints steps.
std::string cdf_plot(const Rows& rows, const PlotSpec& spec, int x) {
  constexpr std::size_t kPoints = 2000;
  const int g = spec.group.empty() ? -1 : rows.column(spec.group, "--group");
  std::map<std::string, std::vector<double>> samples;
  for (const std::size_t r : rows.kept()) {
    if (rows.cell(r, x).empty()) continue;
    samples[g >= 0 ? rows.cell(r, g) : ""].push_back(rows.on_axis(r, x, spec.logx, "--logx"));
  }
  std::string out;
  std::vector<std::string> plots;
  for (const std::string& key : groups_of(rows, g)) {
    std::vector<double>& v = samples[key];
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    const auto block = plots.size();
    out += fmt::format("$d{} << EOD\n", block);
    const std::size_t step = std::max<std::size_t>(1, v.size() / kPoints);
    for (std::size_t i = 0; i < v.size(); i += step) {
      const double fraction = static_cast<double>(i + 1) / static_cast<double>(v.size());
      out += fmt::format("{} {}\n", v[i], fraction);
    }
    out += fmt::format("{} 1\nEOD\n", v.back());
    const std::string label = g >= 0 ? fmt::format("{}={}", spec.group, key) : spec.x;
    plots.push_back(fmt::format("$d{} using 1:2 with steps lw 2 title {} noenhanced", block,
                                gnuplot_string(label)));
  }
  if (plots.empty()) {
    throw InputError(rows.source(), "", fmt::format("column '{}' holds no values", spec.x));
  }
  return out + "set yrange [0:1]\n" + plot_command(plots);
}

// One cluster per row at x = 0, 1, 2, ...; the categories label them through `set xtics`, so
// the data block holds numbers only.
std::string bars_plot(const Rows& rows, const PlotSpec& spec, int x) {
  if (spec.y.empty()) throw InputError(rows.source(), "", "bars need at least one --y column");
  if (spec.logx) {
    throw InputError(rows.source(), "",
                     "bars put categories on x, which has no logarithmic scale: drop --logx");
  }
  std::vector<int> ys;
  for (const auto& c : spec.y) ys.push_back(rows.column(c, "--y"));
  std::string out = "set style data histogram\nset style histogram clustered gap 1\n"
                    "set style fill solid 0.8 border -1\nset xtics rotate by -30 noenhanced\n"
                    "set yrange [0:*]\n$bars << EOD\n";
  std::vector<std::string> tics;
  for (const std::size_t r : rows.kept()) {
    tics.push_back(fmt::format("{} {}", gnuplot_string(rows.cell(r, x)), tics.size()));
    std::string line;
    for (const int y : ys) {
      line += rows.cell(r, y).empty() ? std::string(" NaN") : fmt::format(" {}", rows.on_axis(r, y, spec.logy, "--logy"));
    }
    out += line.substr(1) + "\n";
  }
  out += fmt::format("EOD\nset xtics ({})\n", fmt::join(tics, ", "));
  std::vector<std::string> plots;
  for (std::size_t i = 0; i < ys.size(); ++i) {
    plots.push_back(fmt::format("$bars using {} title {} noenhanced", i + 1,
                                gnuplot_string(spec.y[i])));
  }
  return out + plot_command(plots);
}

std::string heatmap_plot(const Rows& rows, const PlotSpec& spec, int x) {
  if (spec.y.size() != 1 || spec.z.empty()) {
    throw InputError(rows.source(), "", "a heat map needs one --y column and a --z column");
  }
  const int y = rows.column(spec.y.front(), "--y");
  const int z = rows.column(spec.z, "--z");
  std::vector<double> xs;
  std::vector<double> ys;
  std::string cells = "$cells << EOD\n";
  for (const std::size_t r : rows.kept()) {
    xs.push_back(rows.on_axis(r, x, spec.logx, "--logx"));
    ys.push_back(rows.on_axis(r, y, spec.logy, "--logy"));
    cells += fmt::format("{} {} {}\n", xs.back(), ys.back(), rows.number(r, z));
  }
  return fmt::format("set cblabel {} noenhanced\nset palette rgb 33,13,10\nunset key\n",
                     gnuplot_string(spec.z)) +
         cells + "EOD\n" +
         fmt::format("plot $cells using 1:2:({}):({}):3 with boxxyerror fs solid 1.0 noborder "
                     "lc palette\n",
                     cell_size(xs) / 2, cell_size(ys) / 2);
}

}  // namespace

std::string gnuplot_string(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\'') {
      out += "''";
    } else if (u < 0x20 || u == 0x7f) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string gnuplot_script(const Table& table, const PlotSpec& spec,
                           const std::string& source) {
  if (spec.x.empty()) throw InputError(source, "", "--x is required");
  const Rows rows(table, spec, source);
  const int x = rows.column(spec.x, "--x");
  const std::string head = header(spec);
  if (spec.kind == "lines") return head + lines_plot(rows, spec, x);
  if (spec.kind == "cdf") return head + cdf_plot(rows, spec, x);
  if (spec.kind == "bars") return head + bars_plot(rows, spec, x);
  if (spec.kind == "heatmap") return head + heatmap_plot(rows, spec, x);
  throw InputError(source, "", fmt::format("unknown plot kind '{}'; valid kinds are: lines, "
                                           "cdf, bars, heatmap",
                                           spec.kind));
}

void render(const std::string& script, const std::string& base) {
  namespace fs = std::filesystem;
  const fs::path target(base);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::vector<std::pair<std::string, std::string>> outputs{
      {"svg", "set terminal svg size 900,560 dynamic font 'Helvetica,13' background rgb 'white'"},
      {"png", "set terminal pngcairo size 1200,750 font 'Helvetica,12'"}};
  for (const auto& [ext, terminal] : outputs) {
    const std::string final_path = base + "." + ext;
    const std::string temporary = final_path + ".tmp";
    FILE* pipe = popen("gnuplot 2>&1", "w");
    if (pipe == nullptr) throw std::runtime_error("cannot start gnuplot");
    const std::string full =
        fmt::format("{}\nset output {}\n{}", terminal, gnuplot_string(temporary), script);
    std::fwrite(full.data(), 1, full.size(), pipe);
    const int status = pclose(pipe);
    if (status != 0 || !fs::exists(temporary)) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw std::runtime_error(fmt::format(
          "gnuplot failed making {} (exit status {}); is it installed (apt-get install "
          "gnuplot-nox)?",
          final_path, status));
    }
    fs::rename(temporary, final_path);
  }
}

}  // namespace kvsim::report
