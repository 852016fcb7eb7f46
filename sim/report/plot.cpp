#include "sim/report/plot.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/input_error.hpp"

namespace kvsim::report {
namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class Columns {
 public:
  Columns(const Table& t, const std::string& source) : t_(t), source_(source) {}
  int index(const std::string& name) const {
    const int c = t_.column(name);
    if (c < 0) {
      throw InputError(source_, "", fmt::format("no column '{}'; {}", name,
                                                valid_values_hint(name, t_.columns)));
    }
    return c;
  }
  double number(const std::vector<std::string>& row, int c) const {
    char* end = nullptr;
    const std::string& s = row[c];
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size()) {
      throw InputError(source_, "", fmt::format("column '{}' has '{}', not a number",
                                                t_.columns[c], s));
    }
    return v;
  }

 private:
  const Table& t_;
  const std::string& source_;
};

std::string header(const PlotSpec& s) {
  std::string out = "set encoding utf8\nset key outside right top\nset grid\n";
  if (!s.title.empty()) out += fmt::format("set title {} noenhanced\n", quoted(s.title));
  out += fmt::format("set xlabel {} noenhanced\n", quoted(s.xlabel.empty() ? s.x : s.xlabel));
  const std::string yl = !s.ylabel.empty() ? s.ylabel
                         : s.kind == "cdf"     ? "fraction of rows at or below"
                         : s.kind == "heatmap" ? (s.y.empty() ? "" : s.y.front())
                         : s.y.size() == 1     ? s.y.front()
                                               : "";
  out += fmt::format("set ylabel {} noenhanced\n", quoted(yl));
  if (s.logx) out += "set logscale x 2\n";
  if (s.logy) out += "set logscale y\n";
  return out;
}

// Smallest positive gap between distinct sorted values (cell size of a heat map).
double cell(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double gap = std::numeric_limits<double>::infinity();
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (v[i] > v[i - 1]) gap = std::min(gap, v[i] - v[i - 1]);
  }
  return std::isfinite(gap) ? gap : 1.0;
}

}  // namespace

std::string gnuplot_script(const Table& table, const PlotSpec& spec,
                           const std::string& source) {
  const Columns cols(table, source);
  std::vector<std::pair<int, std::string>> filters;
  for (const auto& [name, value] : spec.where) filters.emplace_back(cols.index(name), value);
  std::vector<const std::vector<std::string>*> rows;
  for (const auto& r : table.rows) {
    const bool keep = std::all_of(filters.begin(), filters.end(),
                                  [&](const auto& f) { return r[f.first] == f.second; });
    if (keep) rows.push_back(&r);
  }
  if (rows.empty()) throw InputError(source, "", "no rows left to plot (check --where)");
  if (spec.x.empty()) throw InputError(source, "", "--x is required");
  const int x = cols.index(spec.x);
  std::string out = header(spec);

  if (spec.kind == "lines") {
    if (spec.y.empty()) throw InputError(source, "", "lines need at least one --y column");
    std::vector<std::string> groups{""};
    const int g = spec.group.empty() ? -1 : cols.index(spec.group);
    if (g >= 0) {
      groups.clear();
      for (const auto* r : rows) {
        if (std::find(groups.begin(), groups.end(), (*r)[g]) == groups.end()) {
          groups.push_back((*r)[g]);
        }
      }
    }
    std::vector<std::string> plots;
    int block = 0;
    for (const std::string& ycol : spec.y) {
      const int y = cols.index(ycol);
      for (const std::string& group : groups) {
        std::vector<std::pair<double, double>> points;
        for (const auto* r : rows) {
          if (g >= 0 && (*r)[g] != group) continue;
          if ((*r)[y].empty()) continue;
          points.emplace_back(cols.number(*r, x), cols.number(*r, y));
        }
        std::sort(points.begin(), points.end());
        out += fmt::format("$d{} << EOD\n", block);
        for (const auto& [a, b] : points) out += fmt::format("{} {}\n", a, b);
        out += "EOD\n";
        const std::string label = g >= 0 ? fmt::format("{} {}={}", ycol, spec.group, group) : ycol;
        plots.push_back(fmt::format("$d{} using 1:2 with linespoints lw 2 title {} noenhanced",
                                    block, quoted(label)));
        ++block;
      }
    }
    out += "plot " + fmt::format("{}", fmt::join(plots, ", \\\n     ")) + "\n";
    return out;
  }

  if (spec.kind == "cdf") {
    // The empirical CDF of the x column, one line per value of --group, at most kPoints steps.
    constexpr std::size_t kPoints = 2000;
    const int g = spec.group.empty() ? -1 : cols.index(spec.group);
    std::map<std::string, std::vector<double>> samples;
    std::vector<std::string> order;
    for (const auto* r : rows) {
      const std::string key = g >= 0 ? (*r)[g] : spec.x;
      if (!samples.count(key)) order.push_back(key);
      if (!(*r)[x].empty()) samples[key].push_back(cols.number(*r, x));
    }
    std::vector<std::string> plots;
    int block = 0;
    for (const std::string& key : order) {
      std::vector<double>& v = samples[key];
      std::sort(v.begin(), v.end());
      out += fmt::format("$d{} << EOD\n", block);
      const std::size_t step = std::max<std::size_t>(1, v.size() / kPoints);
      for (std::size_t i = 0; i < v.size(); i += step) {
        out += fmt::format("{} {}\n", v[i], static_cast<double>(i + 1) / static_cast<double>(v.size()));
      }
      out += fmt::format("{} 1\nEOD\n", v.back());
      const std::string label = g >= 0 ? fmt::format("{}={}", spec.group, key) : key;
      plots.push_back(fmt::format("$d{} using 1:2 with steps lw 2 title {} noenhanced", block,
                                  quoted(label)));
      ++block;
    }
    out += "set yrange [0:1]\n";
    out += "plot " + fmt::format("{}", fmt::join(plots, ", \\\n     ")) + "\n";
    return out;
  }

  if (spec.kind == "bars") {
    if (spec.y.empty()) throw InputError(source, "", "bars need at least one --y column");
    std::vector<int> ys;
    for (const auto& c : spec.y) ys.push_back(cols.index(c));
    out += "set style data histogram\nset style histogram clustered gap 1\n"
           "set style fill solid 0.8 border -1\nset xtics rotate by -30 noenhanced\n"
           "set yrange [0:*]\n";
    out += "$bars << EOD\n";
    for (const auto* r : rows) {
      out += quoted((*r)[x]);
      for (const int y : ys) out += fmt::format(" {}", (*r)[y].empty() ? "NaN" : (*r)[y]);
      out += "\n";
    }
    out += "EOD\n";
    std::vector<std::string> plots;
    for (std::size_t i = 0; i < ys.size(); ++i) {
      plots.push_back(fmt::format("$bars using {}:xtic(1) title {} noenhanced", i + 2,
                                  quoted(spec.y[i])));
    }
    out += "plot " + fmt::format("{}", fmt::join(plots, ", \\\n     ")) + "\n";
    return out;
  }

  if (spec.kind == "heatmap") {
    if (spec.y.size() != 1 || spec.z.empty()) {
      throw InputError(source, "", "a heat map needs one --y column and a --z column");
    }
    const int y = cols.index(spec.y.front());
    const int z = cols.index(spec.z);
    std::vector<double> xs;
    std::vector<double> ys;
    for (const auto* r : rows) {
      xs.push_back(cols.number(*r, x));
      ys.push_back(cols.number(*r, y));
    }
    const double dx = cell(xs) / 2;
    const double dy = cell(ys) / 2;
    out += fmt::format("set cblabel {} noenhanced\nset palette rgb 33,13,10\nunset key\n",
                       quoted(spec.z));
    out += "$cells << EOD\n";
    for (const auto* r : rows) {
      out += fmt::format("{} {} {}\n", cols.number(*r, x), cols.number(*r, y), cols.number(*r, z));
    }
    out += "EOD\n";
    out += fmt::format("plot $cells using 1:2:({}):({}):3 with boxxyerror fs solid 1.0 noborder "
                       "lc palette\n",
                       dx, dy);
    return out;
  }
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
        fmt::format("{}\nset output {}\n{}", terminal, quoted(temporary), script);
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
