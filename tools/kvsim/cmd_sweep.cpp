// `kvsim sweep SWEEP`: runs every point of a sweep in parallel and writes one CSV row per point
// (inputs, then each strategy's outputs) and a JSON summary. The CSV is the same for any thread
// count: rows are assembled in point order after all points finish.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/report/output.hpp"
#include "sim/sweep/sweep.hpp"
#include "tools/api/api.hpp"
#include "tools/kvsim/commands.hpp"
#include "tools/kvsim/progress.hpp"
#include "tools/kvsim/scenario_loading.hpp"

namespace kvsim::cli {
namespace {

struct SweepOptions {
  std::string path;
  std::vector<std::string> sets;
  std::string out;
  bool quiet = false;
  bool strict = false;
};

int run_sweep_command(const SweepOptions& o) {
  ConfigDocument doc = ConfigDocument::load_file(o.path);
  for (const auto& s : o.sets) doc.apply_override(s);
  const sweep::SweepSpec spec = sweep::load_sweep(doc);
  const std::size_t n = spec.point_count();
  if (!o.quiet) {
    fmt::print("kvsim sweep: {} ({}), {} points over {}\n", spec.name, spec.file, n,
               fmt::join(spec.columns, ", "));
  }
  Progress progress("kvsim sweep", n, !o.quiet);
  const api::SweepOutcome x =
      api::sweep(spec, o.strict, [&](std::size_t done) { progress.update(done); });
  const Table& table = x.table;
  const Json& summary = x.summary;
  const double wall = progress.elapsed_seconds();
  if (const int w = table.column("warnings"); w >= 0) {
    for (const auto& row : table.rows) {
      const std::string& text = row[static_cast<std::size_t>(w)];
      if (!text.empty()) fmt::print(stderr, "kvsim: warning: point {}: {}\n", row[0], text);
    }
  }
  if (!o.quiet) {
    fmt::print("{} points in {:.2f} s\n", n, wall);
    for (const Json& s : summary["summary"]) {
      fmt::print("  {:<40} min {:>12.4f}  mean {:>12.4f}  max {:>12.4f}\n",
                 s["column"].get<std::string>(),
                 s["min"].get<double>(), s["mean"].get<double>(), s["max"].get<double>());
    }
  }
  if (!o.out.empty()) {
    report::write_output(o.out, {{"sweep.csv", table.csv()},
                                 {"summary.json", summary.dump(2) + "\n"}});
    if (!o.quiet) fmt::print("wrote sweep.csv and summary.json to {}\n", o.out);
  } else if (o.quiet) {
    fmt::print("{}", table.csv());
  }
  return 0;
}

}  // namespace

void add_sweep(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "sweep", "Run a sweep file's points in parallel; write one CSV row per point");
  auto o = std::make_shared<SweepOptions>();
  cmd->add_option("sweep", o->path, "sweep JSON file (see README: Sweeps)")->required();
  cmd->add_option("--set", o->sets, "override a field of the sweep file: /pointer=value")
      ->expected(1)
      ->take_all();
  cmd->add_option("--out", o->out, "write sweep.csv and summary.json to this directory");
  cmd->add_flag("-q,--quiet", o->quiet, "no progress or summary; without --out, print the CSV");
  add_strict_option(*cmd, o->strict);
  cmd->callback([&selected, o] { selected = [o] { return run_sweep_command(*o); }; });
}

}  // namespace kvsim::cli
