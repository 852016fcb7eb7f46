#include "sim/report/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/input_error.hpp"
#include "sim/report/plot_rows.hpp"
#include "sim/report/plot_style.hpp"

namespace kvsim::report {
namespace {

using detail::AxisValues;
using detail::Rows;

std::string default_ylabel(const PlotSpec& s) {
  if (s.kind == "cdf") return "fraction of requests at or below";
  if (s.y.empty()) return "";
  if (s.kind == "heatmap") return style::axis_label(s.y.front());
  if (s.y.size() == 1) return style::axis_label(s.y.front());
  std::string shared = style::shared_axis_label(s.y);
  if (!shared.empty()) return shared;
  std::vector<std::string> labels;  // different metrics: name each once
  for (const std::string& c : s.y) {
    const std::string l = style::axis_label(c);
    if (std::find(labels.begin(), labels.end(), l) == labels.end()) labels.push_back(l);
  }
  return fmt::format("{}", fmt::join(labels, " / "));
}

std::string labels(const PlotSpec& s) {
  std::string out;
  if (!s.title.empty()) out += fmt::format("set title {} noenhanced\n", gnuplot_string(s.title));
  out += fmt::format("set xlabel {} noenhanced\n",
                     gnuplot_string(s.xlabel.empty() ? style::axis_label(s.x) : s.xlabel));
  out += fmt::format("set ylabel {} noenhanced\n",
                     gnuplot_string(s.ylabel.empty() ? default_ylabel(s) : s.ylabel));
  if (!s.group.empty()) {
    out += fmt::format("set key title {} noenhanced\n",
                       gnuplot_string(style::axis_label(s.group)));
  }
  return out;
}

// A mark at a point (x and y) is a dot with a boxed label; a mark at an x alone is a dashed
// vertical line labelled near the top.
std::string marks(const std::vector<PlotMark>& marks) {
  std::string out;
  if (!marks.empty()) out += "set style textbox opaque fillcolor rgb 'white' noborder\n";
  for (const PlotMark& m : marks) {
    const std::string text = gnuplot_string(m.label);
    if (m.y) {
      out += fmt::format("set label {} at {:.17g},{:.17g} point pt 7 ps 1.5 lc rgb '#D55E00' "
                         "offset 0.8,0.8 boxed front noenhanced\n",
                         text, m.x, *m.y);
    } else {
      out += fmt::format("set arrow from {0:.17g}, graph 0 to {0:.17g}, graph 1 nohead dt 2 "
                         "lw 1.5 lc rgb '#555555' front\n"
                         "set label {1} at {0:.17g}, graph 0.95 offset 0.5,0 boxed front "
                         "noenhanced\n",
                         m.x, text);
    }
  }
  return out;
}

std::string plot_command(const std::vector<std::string>& plots) {
  return "plot " + fmt::format("{}", fmt::join(plots, ", \\\n     ")) + "\n";
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

std::string lines_plot(const Rows& rows, const PlotSpec& spec, int x, AxisValues& axes) {
  if (spec.y.empty()) throw InputError(rows.source(), "", "lines need at least one --y column");
  const int g = spec.group.empty() ? -1 : rows.column(spec.group, "--group");
  const std::vector<std::string> groups = groups_of(rows, g);
  const std::vector<std::string> names = style::series_labels(spec.y);
  std::string out;
  std::vector<std::string> plots;
  for (std::size_t i = 0; i < spec.y.size(); ++i) {
    const int y = rows.column(spec.y[i], "--y");
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
      for (const auto& [a, b] : points) {
        out += fmt::format("{} {}\n", a, b);
        axes.x.push_back(a);
        axes.y.push_back(b);
      }
      out += "EOD\n";
      const std::string shown = style::strategy_name(group);
      const std::string label = g < 0                  ? names[i]
                                : spec.y.size() == 1 ? shown
                                                     : fmt::format("{}, {}", names[i], shown);
      // A lone line needs no legend: the y axis names it.
      const bool alone = g < 0 && spec.y.size() == 1;
      plots.push_back(fmt::format("$d{} using 1:2 with linespoints {}", block,
                                  alone ? "notitle" : "title " + gnuplot_string(label)));
    }
  }
  if (plots.empty()) throw InputError(rows.source(), "", "the --y columns hold no values");
  return out + plot_command(plots);
}

// The empirical CDF of the x column, one line per value of --group, at most kPoints steps.
std::string cdf_plot(const Rows& rows, const PlotSpec& spec, int x, AxisValues& axes) {
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
    axes.x.push_back(v.front());
    axes.x.push_back(v.back());
    const auto block = plots.size();
    out += fmt::format("$d{} << EOD\n", block);
    const std::size_t step = std::max<std::size_t>(1, v.size() / kPoints);
    for (std::size_t i = 0; i < v.size(); i += step) {
      const double fraction = static_cast<double>(i + 1) / static_cast<double>(v.size());
      out += fmt::format("{} {}\n", v[i], fraction);
    }
    out += fmt::format("{} 1\nEOD\n", v.back());
    const std::string label = g >= 0 ? style::strategy_name(key) : style::axis_label(spec.x);
    plots.push_back(fmt::format("$d{} using 1:2 with steps {}", block,
                                g < 0 ? "notitle" : "title " + gnuplot_string(label)));
  }
  if (plots.empty()) {
    throw InputError(rows.source(), "", fmt::format("column '{}' holds no values", spec.x));
  }
  return out + "set yrange [0:1]\n" + plot_command(plots);
}

// One cluster per row at x = 0, 1, 2, ...; the categories label them through `set xtics`, so
// the data block holds numbers only.
std::string bars_plot(const Rows& rows, const PlotSpec& spec, int x, AxisValues& axes) {
  if (spec.y.empty()) throw InputError(rows.source(), "", "bars need at least one --y column");
  if (spec.logx) {
    throw InputError(rows.source(), "",
                     "bars put categories on x, which has no logarithmic scale: drop --logx");
  }
  std::vector<int> ys;
  for (const auto& c : spec.y) ys.push_back(rows.column(c, "--y"));
  std::string out = "set style data histogram\nset style histogram clustered gap 1\n"
                    "set style fill solid 0.85 border -1\nset xtics rotate by -30 noenhanced\n";
  if (!spec.logy) out += "set yrange [0:*]\n";
  out += "$bars << EOD\n";
  std::vector<std::string> tics;
  for (const std::size_t r : rows.kept()) {
    tics.push_back(fmt::format("{} {}", gnuplot_string(style::strategy_name(rows.cell(r, x))),
                               tics.size()));
    std::string line;
    for (const int y : ys) {
      if (rows.cell(r, y).empty()) {
        line += " NaN";
        continue;
      }
      axes.y.push_back(rows.on_axis(r, y, spec.logy, "--logy"));
      line += fmt::format(" {}", axes.y.back());
    }
    out += line.substr(1) + "\n";
  }
  out += fmt::format("EOD\nset xtics ({})\n", fmt::join(tics, ", "));
  const std::vector<std::string> names = style::series_labels(spec.y);
  std::vector<std::string> plots;
  for (std::size_t i = 0; i < ys.size(); ++i) {
    plots.push_back(
        fmt::format("$bars using {} title {} dt solid", i + 1, gnuplot_string(names[i])));
  }
  return out + plot_command(plots);
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
  AxisValues axes;
  std::string body;
  if (spec.kind == "lines") {
    body = lines_plot(rows, spec, x, axes);
  } else if (spec.kind == "cdf") {
    body = cdf_plot(rows, spec, x, axes);
  } else if (spec.kind == "bars") {
    body = bars_plot(rows, spec, x, axes);
  } else if (spec.kind == "heatmap") {
    std::vector<PlotMark> placed = spec.marks;
    body = detail::heatmap_plot(rows, spec, x, placed);
    return style::preamble() + labels(spec) + marks(placed) + body;
  } else {
    throw InputError(source, "", fmt::format("unknown plot kind '{}'; valid kinds are: lines, "
                                             "cdf, bars, heatmap",
                                             spec.kind));
  }
  std::string head = style::preamble() + labels(spec) + marks(spec.marks);
  if (spec.logx) head += style::log_axis("x", axes.x);
  if (spec.logy) head += style::log_axis("y", axes.y);
  return head + body;
}

PlotMark parse_mark(std::string_view text, const std::string& source) {
  const std::size_t eq = text.find('=');
  const auto fail = [&] {
    return InputError(source, "", fmt::format("--mark '{}' must look like X=LABEL or X,Y=LABEL "
                                              "(X and Y numbers on the plot's axes)",
                                              text));
  };
  if (eq == std::string_view::npos || eq + 1 == text.size()) throw fail();
  const std::string coordinates(text.substr(0, eq));
  const std::size_t comma = coordinates.find(',');
  const auto number = [&](const std::string& s) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) throw fail();
    return v;
  };
  PlotMark mark;
  mark.label = std::string(text.substr(eq + 1));
  mark.x = number(coordinates.substr(0, comma));
  if (comma != std::string::npos) mark.y = number(coordinates.substr(comma + 1));
  return mark;
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
