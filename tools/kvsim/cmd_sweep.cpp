// `kvsim sweep SWEEP`: runs every point of a sweep in parallel and writes one CSV row per point
// (inputs, then each strategy's outputs) and a JSON summary. The CSV is the same for any thread
// count, MPI rank count or --shard split: rows are assembled in point order after all points
// finish (sim/distributed).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/report/output.hpp"
#include "sim/sweep/sweep.hpp"
#include "tools/kvsim/commands.hpp"
#include "tools/kvsim/merge.hpp"
#include "tools/api/overrides.hpp"
#include "tools/kvsim/progress.hpp"
#include "tools/kvsim/scenario_loading.hpp"
#include "tools/kvsim/workers.hpp"

namespace kvsim::cli {
namespace {

struct SweepOptions {
  std::string path;
  std::vector<std::string> sets;
  std::string out;
  bool quiet = false;
  bool strict = false;
  WorkerOptions workers;
};

sweep::SweepSpec load_spec(const std::string& path, const std::vector<std::string>& sets) {
  ConfigDocument doc = ConfigDocument::load_file(path);
  api::apply_overrides(doc, sets);
  return sweep::load_sweep(doc);
}

// A sharded sweep: its input as merge reloads it, and the hash of the sweep and its base.
distributed::Job sweep_job(const SweepOptions& o, const sweep::SweepSpec& spec) {
  return {"sweep", job_input(o.path, o.sets), distributed::hash_text(spec.input_hash)};
}

int finish_sweep(const sweep::SweepSpec& spec, const std::vector<std::string>& points,
                 const FinishOptions& o) {
  const Table table = sweep::assemble_table(spec, points);
  if (const int w = table.column("warnings"); w >= 0) {
    for (const auto& row : table.rows) {
      const std::string& text = row[static_cast<std::size_t>(w)];
      if (!text.empty()) fmt::print(stderr, "kvsim: warning: point {}: {}\n", row[0], text);
    }
  }
  const Json summary = sweep::summarize(spec, table);
  if (!o.quiet) {
    fmt::print("{} points in {:.2f} s\n", table.rows.size(), o.wall_seconds);
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

int run_sweep_command(const SweepOptions& o) {
  const sweep::SweepSpec spec = load_spec(o.path, o.sets);
  const std::size_t n = spec.point_count();
  const bool talk = !o.quiet && speaks();
  if (talk) {
    fmt::print("kvsim sweep: {} ({}), {} points over {}{}\n", spec.name, spec.file, n,
               fmt::join(spec.columns, ", "),
               o.workers.shard.empty() ? "" : fmt::format(", shard {}", o.workers.shard));
  }
  std::optional<Progress> progress;
  const auto report = [&](std::size_t done, std::size_t total) {
    if (!progress) progress.emplace("kvsim sweep", total, talk);
    progress->update(done);
  };
  Progress clock("kvsim sweep", n, false);
  const auto points = evaluate_items(
      o.workers, sweep_job(o, spec), o.out, n,
      [&](std::size_t i) { return sweep::evaluate_point(spec, i, o.strict); }, report);
  progress.reset();  // ends its line before the summary
  if (!points) {
    if (talk && !o.workers.shard.empty()) {
      fmt::print("wrote shard {} to {}\n", o.workers.shard, o.out);
    }
    return 0;
  }
  return finish_sweep(spec, *points, FinishOptions{o.out, o.quiet, clock.elapsed_seconds()});
}

}  // namespace

int finish_merged_sweep(const distributed::Partial& first, const std::vector<std::string>& points,
                        const FinishOptions& o) {
  const sweep::SweepSpec spec = sweep::load_sweep(reload_document(first));
  if (distributed::hash_text(spec.input_hash) != first.job.input_hash) {
    throw InputError(spec.file, "", fmt::format(
        "the sweep (or its base scenario) changed since its shards ran: it hashes to {} now, {} "
        "to {}; run the shards again", distributed::hash_text(spec.input_hash), first.file,
        first.job.input_hash));
  }
  return finish_sweep(spec, points, o);
}

void add_sweep(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "sweep", "Run a sweep file's points in parallel; write one CSV row per point");
  auto o = std::make_shared<SweepOptions>();
  cmd->add_option("sweep", o->path, "sweep JSON file (see README: Sweeps)")->required();
  cmd->add_option("--set", o->sets, "override a field of the sweep file: /pointer=value")
      ->expected(1)
      ->take_all();
  cmd->add_option("--out", o->out, "write sweep.csv and summary.json to this directory (with "
                                   "--shard: the partial result file to write)");
  cmd->add_flag("-q,--quiet", o->quiet, "no progress or summary; without --out, print the CSV");
  add_strict_option(*cmd, o->strict);
  add_worker_options(*cmd, o->workers);
  cmd->callback([&selected, o] { selected = [o] { return run_sweep_command(*o); }; });
}

}  // namespace kvsim::cli
