// `kvsim train-predictor SWEEP`: KVR-S at every point of a training sweep, a KVR-P predictor
// fitted to the results, and optionally its error against fresh searches at the held-out points
// of a validation sweep (stored in the predictor and written as CSV and Markdown tables).
#include <optional>

#include <fmt/format.h>

#include "sim/report/output.hpp"
#include "sim/sweep/training.hpp"
#include "tools/kvsim/commands.hpp"
#include "tools/kvsim/search_options.hpp"
#include "tools/kvsim/progress.hpp"

namespace kvsim::cli {
namespace {

struct TrainOptions {
  std::string sweep;
  std::string validate;
  std::string out;
  std::string report;
  prefill::SearchOptions search;
  bool quiet = false;
};

sweep::SweepSpec read_sweep(const std::string& path) {
  return sweep::load_sweep(ConfigDocument::load_file(path));
}

int train(const TrainOptions& o) {
  const sweep::SweepSpec training = read_sweep(o.sweep);
  std::optional<sweep::SweepSpec> validation;
  if (!o.validate.empty()) validation = read_sweep(o.validate);
  if (!o.report.empty() && !validation) {
    throw InputError(o.report, "", "--report needs --validate (the report is the validation)");
  }
  if (!o.quiet) {
    fmt::print("kvsim train-predictor: KVR-S at {} training points of {}\n",
               training.point_count(), training.file);
  }
  std::vector<sweep::SearchedPoint> points;
  {
    Progress progress("searching", training.point_count(), !o.quiet);
    points = sweep::search_points(training, o.search,
                                  [&](std::size_t done) { progress.update(done); });
  }
  prefill::PartitionPredictor predictor = sweep::fit_predictor(points);
  if (!o.quiet) {
    for (const auto& t : predictor.tables()) {
      fmt::print("  {}: {} points, parametric fit rms {:.4f} in log(p f)\n", t.key().describe(),
                 t.points().size(), t.fit_rms());
    }
  }
  std::vector<report::OutputFile> reports;
  if (validation) {
    std::vector<sweep::ValidationRow> rows;
    {
      Progress progress("validating", validation->point_count(), !o.quiet);
      rows = sweep::validate_predictor(predictor, *validation, o.search,
                                       [&](std::size_t done) { progress.update(done); });
    }
    Json summary = sweep::validation_summary(rows);
    summary["sweep"] = validation->file;
    if (!o.quiet) {
      fmt::print("  validation at {} held-out points: KVR-P TTFT over KVR-S mean +{:.3f}%, "
                 "worst +{:.3f}%\n",
                 rows.size(), 100 * summary["mean_ttft_excess"].get<double>(),
                 100 * summary["worst_ttft_excess"].get<double>());
    }
    reports = {{"validation.csv", sweep::validation_csv(rows)},
               {"validation.md", sweep::validation_markdown(rows, summary)}};
    predictor.set_validation(summary);
  }
  Json file = predictor.to_json();
  file["training_sweep"] = training.resolved;
  file["search"] = o.search.to_json();
  report::write_file(o.out, file.dump(1) + "\n");
  if (!o.report.empty()) report::write_output(o.report, reports);
  if (!o.quiet) {
    fmt::print("wrote {}{}\n", o.out,
               o.report.empty() ? "" : fmt::format(" and validation tables to {}", o.report));
  }
  return 0;
}

}  // namespace

void add_train_predictor(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "train-predictor", "KVR-P: search partitions over a sweep and fit a predictor to them");
  auto o = std::make_shared<TrainOptions>();
  cmd->add_option("sweep", o->sweep, "training sweep file (its points are searched)")
      ->required();
  cmd->add_option("--out", o->out, "predictor JSON to write")->required();
  cmd->add_option("--validate", o->validate, "sweep of held-out points: compare KVR-P with a "
                                             "fresh KVR-S search at each");
  cmd->add_option("--report", o->report, "write validation.csv and validation.md here");
  add_search_options(*cmd, o->search);
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  cmd->callback([&selected, o] { selected = [o] { return train(*o); }; });
}

}  // namespace kvsim::cli
