// `kvsim plot CSV`: a figure from a sweep, search or serve CSV through gnuplot (SVG and PNG).
#include <fmt/format.h>

#include "sim/report/output.hpp"
#include "sim/report/plot.hpp"
#include "sim/core/input_error.hpp"
#include "sim/core/table.hpp"
#include "tools/kvsim/commands.hpp"

namespace kvsim::cli {
namespace {

struct PlotOptions {
  std::string csv;
  std::string out;
  std::string script;
  std::vector<std::string> where;
  std::vector<std::string> marks;
  report::PlotSpec spec;
};

int plot(PlotOptions o) {
  for (const std::string& w : o.where) {
    const auto eq = w.find('=');
    if (eq == std::string::npos) {
      throw InputError(o.csv, "", fmt::format("--where '{}' must look like column=value", w));
    }
    o.spec.where.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  for (const std::string& m : o.marks) o.spec.marks.push_back(report::parse_mark(m, o.csv));
  const Table table = read_csv(o.csv);
  const std::string script = report::gnuplot_script(table, o.spec, o.csv);
  report::render(script, o.out);
  if (!o.script.empty()) report::write_file(o.script, script);  // throws when it cannot write
  fmt::print("wrote {}.svg and {}.png\n", o.out, o.out);
  return 0;
}

}  // namespace

void add_plot(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "plot", "Plot a sweep, search or serve CSV through gnuplot: lines, CDFs, grouped bars or "
              "a heat map");
  auto o = std::make_shared<PlotOptions>();
  cmd->add_option("csv", o->csv,
                  "CSV file (kvsim sweep's sweep.csv, kvsim search's CSVs, kvsim serve's "
                  "requests.csv and timeline.csv)")
      ->required();
  cmd->add_option("--out", o->out, "output path without extension: writes OUT.svg and OUT.png")
      ->required();
  cmd->add_option("--kind", o->spec.kind, "lines, cdf, bars or heatmap")
      ->capture_default_str()
      ->check(CLI::IsMember({"lines", "cdf", "bars", "heatmap"}));
  cmd->add_option("--x", o->spec.x, "x column (bars: the category; cdf: the sampled column)")
      ->required();
  cmd->add_option("--y", o->spec.y, "y column(s); heatmap: the second coordinate")
      ->delimiter(',');
  cmd->add_option("--z", o->spec.z, "heatmap: the colour column");
  cmd->add_option("--group", o->spec.group, "lines, cdf: one line per value of this column");
  cmd->add_option("--where", o->where, "keep rows where column=value; repeatable")
      ->expected(1)
      ->take_all();
  cmd->add_option("--title", o->spec.title, "figure title");
  cmd->add_option("--xlabel", o->spec.xlabel,
                  "x axis label (default: the column's name with its unit, e.g. TTFT (ms))");
  cmd->add_option("--ylabel", o->spec.ylabel,
                  "y axis label (default: the --y columns' shared metric with its unit)");
  cmd->add_flag("--logx", o->spec.logx,
                "logarithmic x axis: ticks at powers of two when every value is one, else at "
                "1, 2, 5 per decade; heatmap: equal cells per value");
  cmd->add_flag("--logy", o->spec.logy, "logarithmic y axis (ticks as --logx)");
  cmd->add_option("--mark", o->marks,
                  "X=LABEL: a labelled dashed line at x; X,Y=LABEL: a labelled point "
                  "(e.g. KVR-S's cut on a landscape); repeatable")
      ->expected(1)
      ->take_all();
  cmd->add_option("--script", o->script, "also save the gnuplot script here");
  cmd->callback([&selected, o] { selected = [o] { return plot(*o); }; });
}

}  // namespace kvsim::cli
