// `kvsim compare SCENARIO|SWEEP MEASURED`: predicted against measured latencies, with CI gates
// (every rule is an option below; sim/compare/gates.hpp). Exit codes: 0 every gate set passed
// (or none was set, which the output says), 1 a gate failed (each failure says which and why),
// 2 bad input, including a threshold or a measurement that is not finite.
#include <cmath>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "sim/compare/compare.hpp"
#include "sim/core/input_error.hpp"
#include "sim/report/output.hpp"
#include "sim/core/progress.hpp"
#include "tools/api/overrides.hpp"
#include "tools/kvsim/commands.hpp"

namespace kvsim::cli {
namespace {

struct CompareCommandOptions {
  std::string scenario;
  std::vector<std::string> overrides;
  std::string measured;
  std::string out;
  std::string baseline;
  std::optional<double> max_mape, max_point_error;
  std::optional<double> max_tpot_mape, max_tpot_point_error;
  std::vector<std::string> where;
  std::optional<double> max_p50_error, max_p90_error, max_p99_error;
  std::vector<std::string> gate_metrics{"ttft", "tpot", "itl", "e2e"};
  double regression_points = 1;
  double regression_relative = 10;
  double baseline_point_error = 15;
  bool allow_model_mismatch = false;
  double fixed_overhead_ms = 0;
  bool queueing = false;
  std::string strategy;
  bool quiet = false;
};

// Percentages on the command line, fractions in the gates; checked before anything runs.
compare::Gates gates_of(const CompareCommandOptions& o) {
  const auto fraction = [](const std::optional<double>& pct) {
    return pct ? std::optional<double>(*pct / 100) : std::nullopt;
  };
  compare::Gates gates;
  gates.max_mape = fraction(o.max_mape);
  gates.max_point_error = fraction(o.max_point_error);
  gates.max_tpot_mape = fraction(o.max_tpot_mape);
  gates.max_tpot_point_error = fraction(o.max_tpot_point_error);
  gates.max_p50_error = fraction(o.max_p50_error);
  gates.max_p90_error = fraction(o.max_p90_error);
  gates.max_p99_error = fraction(o.max_p99_error);
  gates.metrics = o.gate_metrics;
  gates.regression_points = o.regression_points / 100;
  gates.regression_relative = o.regression_relative / 100;
  gates.baseline_point_error = o.baseline_point_error / 100;
  compare::validate(gates);
  return gates;
}

// The gates' baseline (a previous compare.json): what the gates read of it is checked here,
// naming the file and the entry.
Json load_baseline(const std::string& path) {
  const ConfigDocument b = compare::load_json(path);
  const ConfigNode root = b.root();
  (void)root.at("aggregates").at("mape").as_number();
  for (const ConfigNode& p : root.at("points").elements()) {
    (void)p.at("key").as_string();
    if (!p.at("error").json().is_null()) (void)p.at("error").as_number();  // null: no TTFT
  }
  return b.json();
}

// Reads the measurements and predicts them from the scenario, or from the sweep's points.
compare::Comparison predict(const CompareCommandOptions& o, compare::Measurements& measured) {
  ConfigDocument doc = ConfigDocument::load_file(o.scenario);
  api::apply_overrides(doc, o.overrides);
  compare::CompareOptions options;
  options.fixed_overhead_ms = o.fixed_overhead_ms;
  options.queueing = o.queueing;
  options.strategy = o.strategy;
  options.allow_model_mismatch = o.allow_model_mismatch;
  // A sweep file has a base scenario and axes; anything else is read as a scenario.
  if (doc.json().is_object() && doc.json().contains("axes")) {
    if (!o.where.empty()) {
      throw InputError("command line", "--where",
                       "--where selects rows compared with a scenario, not at a sweep's points");
    }
    const sweep::SweepSpec spec = sweep::load_sweep(doc);
    measured = compare::read_sweep_measurements(o.measured, spec);
    return compare::compare_sweep(spec, measured, options);
  }
  if (!o.strategy.empty()) {
    throw InputError(o.scenario, "",
                     "--strategy picks a strategy at the points of a sweep; with a scenario, "
                     "each point is predicted by the single-GPU or tp strategy");
  }
  measured = compare::read_measurements(o.measured);
  std::vector<compare::Where> filters;
  for (const std::string& w : o.where) filters.push_back(compare::parse_where(w));
  compare::select(measured, filters);
  return compare::compare(doc, measured, options);
}

int run_compare(const CompareCommandOptions& o) {
  compare::Gates gates = gates_of(o);
  if (!o.baseline.empty()) gates.baseline = load_baseline(o.baseline);
  compare::Measurements measured;
  Heartbeat beat("kvsim compare: predicting", !o.quiet);  // on a terminal only
  const compare::Comparison c = predict(o, measured);
  beat.stop();
  const compare::GateResult result = compare::check_gates(c, gates);
  for (const auto& w : c.warnings) fmt::print(stderr, "kvsim: warning: {}\n", w);
  if (!result.checked) fmt::print(stderr, "kvsim: warning: {}\n", compare::verdict(result));
  if (!o.quiet) {
    fmt::print("kvsim compare: {} against {} ({} points, TTFT from {})\n  predicted by: {}\n",
               o.scenario, o.measured, c.points.size(), measured.ttft_from, c.method);
    if (measured.run && measured.run->failed > 0) {
      fmt::print("  {} failed requests (no first token) left out\n", measured.run->failed);
    }
    fmt::print("{}", compare::to_table(c));
    fmt::print("{}\n", compare::verdict(result));
  }
  for (const auto& f : result.failures) fmt::print(stderr, "kvsim compare: gate failed: {}\n", f);
  if (!o.out.empty()) {
    Json j = compare::to_json(c, result);
    j["scenario"] = o.scenario;
    j["measured"] = o.measured;
    j["ttft_from"] = measured.ttft_from;
    j["max_point_error"] = gates.max_point_error ? Json(*gates.max_point_error) : Json();
    j["baseline_point_error"] = gates.baseline_point_error;
    report::write_output(o.out, {{"compare.json", j.dump(2) + "\n"},
                                 {"compare.md", compare::to_markdown(c, result)}});
    if (!o.quiet) fmt::print("wrote compare.json and compare.md to {}\n", o.out);
  }
  return result.passed ? 0 : 1;
}

}  // namespace

void add_compare(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Compare predicted with measured TTFT (and TPOT, ITL, end-to-end latency of a vllm bench "
      "result); exit 1 when a gate fails, 2 on bad input; with no gate set nothing is checked "
      "and the output says so");
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
  // Thresholds and the overhead: finite, at least 0 ("nan" and "inf" are refused, exit 2).
  const CLI::Validator finite(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v < 0) {
          return "expected a finite number, at least 0; got '" + text + "'";
        }
        return "";
      },
      "");
  cmd->add_option("--max-mape", o->max_mape,
                  "fail when the TTFT mean absolute error over the points exceeds this %")
      ->check(finite);
  cmd->add_option("--max-point-error", o->max_point_error,
                  "fail when any point's TTFT absolute error exceeds this %")
      ->check(finite);
  cmd->add_option("--max-tpot-mape", o->max_tpot_mape,
                  "fail when the TPOT mean absolute error over the points that measured TPOT "
                  "exceeds this % (fails when none did)")
      ->check(finite);
  cmd->add_option("--max-tpot-point-error", o->max_tpot_point_error,
                  "fail when any point's TPOT absolute error exceeds this % (fails when no point "
                  "measured TPOT)")
      ->check(finite);
  cmd->add_option("--where", o->where,
                  "compare only the points whose COLUMN=VALUE (model, gpu, precision, engine, tp, "
                  "pp, batch; repeat to require several), e.g. --where gpu=h100-sxm --where "
                  "\"engine=TensorRT-LLM v0.9\"; the outputs say how many were kept")
      ->expected(1)
      ->take_all();
  cmd->add_option("--max-p50-error", o->max_p50_error,
                  "fail when a gated metric's predicted median is off the measured by more than "
                  "this %")
      ->check(finite);
  cmd->add_option("--max-p90-error", o->max_p90_error, "... its 90th percentile ...")
      ->check(finite);
  cmd->add_option("--max-p99-error", o->max_p99_error, "... its 99th percentile ...")
      ->check(finite);
  cmd->add_option("--gate-metrics", o->gate_metrics,
                  "the metrics the --max-pNN-error gates apply to, of ttft, tpot, itl, e2e (those "
                  "compared: TPOT, ITL and E2E need a vllm bench result and a serving section)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--baseline", o->baseline,
                  "a previous compare.json: fail when the TTFT mean absolute error rose by "
                  "--regression-points AND --regression-relative, or a point within "
                  "--baseline-point-error in the baseline no longer is");
  cmd->add_option("--regression-points", o->regression_points,
                  "a regression needs the mean error to rise by at least this many % points ...")
      ->capture_default_str()
      ->check(finite);
  cmd->add_option("--regression-relative", o->regression_relative,
                  "... and by at least this % of its baseline value")
      ->capture_default_str()
      ->check(finite);
  cmd->add_option("--baseline-point-error", o->baseline_point_error,
                  "with --baseline: fail when a point whose TTFT error was within this % in the "
                  "baseline is now outside it")
      ->capture_default_str()
      ->check(finite);
  cmd->add_flag("--allow-model-mismatch", o->allow_model_mismatch,
                "compare a vllm bench result whose model_id does not name the scenario's model "
                "(refused otherwise; the outputs carry a warning)");
  cmd->add_option("--fixed-overhead", o->fixed_overhead_ms,
                  "ms added to each prediction when the measurement counts from request arrival")
      ->capture_default_str()
      ->check(finite);
  cmd->add_flag("--queueing", o->queueing,
                "replay a vllm bench serve result through the serving simulation (the "
                "scenario's \"serving\" section) as the client sent it (its start_times when "
                "recorded, else its rate and burstiness; closed loop under max_concurrency), so "
                "predictions include queueing");
  cmd->add_option("--strategy", o->strategy,
                  "sweeps: the strategy (label, e.g. kvr/search) of rows without a strategy "
                  "column; default: the point's first");
  cmd->add_option("--out", o->out, "write compare.json and compare.md (a CI summary) here");
  cmd->add_flag("-q,--quiet", o->quiet, "print only gate failures");
  cmd->callback([&selected, o] { selected = [o] { return run_compare(*o); }; });
}

}  // namespace kvsim::cli
