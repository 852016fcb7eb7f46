// `kvsim compare SCENARIO|SWEEP MEASURED`: predicted against measured TTFT, with CI gates.
// Exit codes: 0 every gate passed, 1 a gate failed (each failure says which and why), 2 bad
// input.
#include <fstream>

#include <fmt/format.h>

#include "sim/compare/compare.hpp"
#include "sim/core/input_error.hpp"
#include "sim/report/output.hpp"
#include "tools/kvsim/commands.hpp"

namespace kvsim::cli {
namespace {

struct CompareCommandOptions {
  std::string scenario;
  std::vector<std::string> overrides;
  std::string measured;
  std::string out;
  std::string baseline;
  double max_mape = -1;
  double max_point_error = -1;
  double regression_points = 1;
  double regression_relative = 10;
  double fixed_overhead_ms = 0;
  bool queueing = false;
  std::string strategy;
  bool quiet = false;
};

int run_compare(const CompareCommandOptions& o) {
  ConfigDocument doc = ConfigDocument::load_file(o.scenario);
  for (const auto& s : o.overrides) doc.apply_override(s);
  compare::CompareOptions options;
  options.fixed_overhead_ms = o.fixed_overhead_ms;
  options.queueing = o.queueing;
  options.strategy = o.strategy;
  // A sweep file has a base scenario and axes; anything else is read as a scenario.
  const bool is_sweep = doc.json().is_object() && doc.json().contains("axes");
  compare::Measurements measured;
  compare::Comparison c;
  if (is_sweep) {
    const sweep::SweepSpec spec = sweep::load_sweep(doc);
    measured = compare::read_sweep_measurements(o.measured, spec);
    c = compare::compare_sweep(spec, measured, options);
  } else {
    if (!o.strategy.empty()) {
      throw InputError(o.scenario, "",
                       "--strategy picks a strategy at the points of a sweep; with a scenario, "
                       "each point is predicted by the single-GPU or tp strategy");
    }
    measured = compare::read_measurements(o.measured);
    c = compare::compare(doc, measured, options);
  }

  compare::Gates gates;
  if (o.max_mape >= 0) gates.max_mape = o.max_mape / 100;
  if (o.max_point_error >= 0) gates.max_point_error = o.max_point_error / 100;
  gates.regression_points = o.regression_points / 100;
  gates.regression_relative = o.regression_relative / 100;
  if (!o.baseline.empty()) {
    const ConfigDocument b = ConfigDocument::load_file(o.baseline);
    const ConfigNode root = b.root();
    (void)root.at("aggregates").at("mape").as_number();  // checks the shape, naming the file
    (void)root.at("points").elements();
    gates.baseline = b.json();
  }
  const compare::GateResult result = compare::check_gates(c, gates);

  if (!o.quiet) {
    fmt::print("kvsim compare: {} against {} ({} points, TTFT from {})\n  predicted by: {}\n",
               o.scenario, o.measured, c.points.size(), measured.ttft_from, c.method);
    if (measured.run && measured.run->failed > 0) {
      fmt::print("  {} failed requests (no first token) left out\n", measured.run->failed);
    }
    fmt::print("{}", compare::to_table(c));
    fmt::print("{}\n", result.passed ? "all gates passed" : "FAILED:");
  }
  for (const auto& f : result.failures) fmt::print(stderr, "kvsim compare: gate failed: {}\n", f);
  if (!o.out.empty()) {
    Json j = compare::to_json(c, result);
    j["scenario"] = o.scenario;
    j["measured"] = o.measured;
    j["ttft_from"] = measured.ttft_from;
    j["max_point_error"] = gates.max_point_error ? Json(*gates.max_point_error) : Json();
    report::write_output(o.out, {{"compare.json", j.dump(2) + "\n"},
                                 {"compare.md", compare::to_markdown(c, result)}});
    if (!o.quiet) fmt::print("wrote compare.json and compare.md to {}\n", o.out);
  }
  return result.passed ? 0 : 1;
}

}  // namespace

void add_compare(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "compare", "Compare predicted with measured TTFT; exit 1 when a gate fails (for CI)");
  auto o = std::make_shared<CompareCommandOptions>();
  cmd->add_option("scenario", o->scenario,
                  "scenario giving the model, cluster and compute model; or a sweep whose "
                  "points the measurements name")
      ->required();
  cmd->add_option("measured", o->measured,
                  "measurements: kvsim JSON (kind kvsim-ttft-measurements), CSV, or a "
                  "`vllm bench serve --save-result --save-detailed` JSON; with a sweep, a CSV of "
                  "the sweep's columns, strategy and ttft_ms")
      ->required();
  cmd->add_option("--set", o->overrides,
                  "override a field of the scenario (or sweep file): /pointer=value")
      ->expected(1)
      ->take_all();
  cmd->add_option("--max-mape", o->max_mape, "fail when the mean absolute error exceeds this %")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-point-error", o->max_point_error,
                  "fail when any point's absolute error exceeds this %")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--baseline", o->baseline, "a previous compare.json: fail on regression");
  cmd->add_option("--regression-points", o->regression_points,
                  "a regression needs the mean error to rise by at least this many % points ...")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--regression-relative", o->regression_relative,
                  "... and by at least this % of its baseline value")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--fixed-overhead", o->fixed_overhead_ms,
                  "ms added to each prediction when the measurement counts from request arrival")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--queueing", o->queueing,
                "replay a vllm bench serve result through the serving simulation (the "
                "scenario's \"serving\" section), so predictions include queueing");
  cmd->add_option("--strategy", o->strategy,
                  "sweeps: the strategy (label, e.g. kvr/search) of rows without a strategy "
                  "column; default: the point's first");
  cmd->add_option("--out", o->out, "write compare.json and compare.md (a CI summary) here");
  cmd->add_flag("-q,--quiet", o->quiet, "print only gate failures");
  cmd->callback([&selected, o] { selected = [o] { return run_compare(*o); }; });
}

}  // namespace kvsim::cli
