// `kvsim calibrate-engine MEASUREMENTS... --scenario TEMPLATE --base ENGINE.json --fit ...`:
// fits an engine's continuous parameters to end-to-end measurements (calibration/engine) and
// writes the fitted profile (engine.json) and a report (report.md) to --out. Exit 2 on bad
// input, including a fit the measurements cannot determine (the message names the parameter and
// what to measure next).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "calibration/engine/compare_data.hpp"
#include "calibration/engine/report.hpp"
#include "sim/core/input_error.hpp"
#include "sim/report/output.hpp"
#include "tools/api/overrides.hpp"
#include "tools/kvsim/commands.hpp"
#include "tools/kvsim/progress.hpp"

namespace kvsim::cli {
namespace {

struct CalibrateEngineOptions {
  std::vector<std::string> measurements;
  std::string scenario;
  std::vector<std::string> gpu_scenarios;  // GPU=PATH
  std::vector<std::string> overrides;
  std::string base;
  std::vector<std::string> fit;
  std::vector<std::string> where;
  std::vector<std::string> metrics{"ttft", "tpot"};
  std::string name;
  std::string description;
  double fixed_overhead_ms = 0;
  bool queueing = false;
  std::string out;
  bool quiet = false;
};

// The base engine: an engine object, or a fitted profile (its "fit" record is dropped).
Json load_base(const CalibrateEngineOptions& o) {
  Json engine = compare::load_json(o.base).json();
  if (!engine.is_object() || !engine.contains("type")) {
    throw InputError(o.base, "", "expected an engine object (\"type\": \"parametric\", ...) as "
                                 "the scenario's \"engine\" takes it");
  }
  engine.erase("fit");  // a fitted profile: its record and source are the old fit's
  engine.erase("source");
  if (!o.name.empty()) engine["name"] = o.name;
  return engine;
}

ConfigDocument load_template(const std::string& path, const std::vector<std::string>& overrides) {
  ConfigDocument doc = ConfigDocument::load_file(path);
  api::apply_overrides(doc, overrides);
  return doc;
}

// --scenario (the default template) and --gpu-scenario GPU=PATH (rows of that GPU).
engine_fit::Templates templates_of(const CalibrateEngineOptions& o) {
  engine_fit::Templates t;
  if (!o.scenario.empty()) t.fallback = load_template(o.scenario, o.overrides);
  for (const std::string& g : o.gpu_scenarios) {
    const auto eq = g.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw InputError("--gpu-scenario", "",
                       fmt::format("'{}' is not GPU=SCENARIO (e.g. h100-sxm=scenarios/engines/"
                                   "dgx-h100.json)",
                                   g));
    }
    t.by_gpu.emplace(g.substr(0, eq), load_template(g.substr(eq + 1), o.overrides));
  }
  if (!t.fallback && t.by_gpu.empty()) {
    throw InputError("command line", "", "give a template: --scenario or --gpu-scenario");
  }
  return t;
}

engine_fit::FitInputs inputs_of(const CalibrateEngineOptions& o, const engine_fit::CompareData& d) {
  engine_fit::FitInputs in;
  in.scenario = o.scenario;
  for (const auto& g : o.gpu_scenarios) in.scenario += (in.scenario.empty() ? "" : " ") + g;
  in.files = d.files;
  in.where = o.where;
  in.metrics = o.metrics;
  in.warnings = *d.warnings;
  in.description = o.description;
  return in;
}

// The fitted values and the errors, on stdout.
void print_summary(const engine_fit::LinearModel& model, const engine_fit::EngineFit& fit,
                   const std::string& out) {
  for (std::size_t j = 0; j < model.parameters.size(); ++j) {
    fmt::print("{} = {}{}\n", model.parameters[j].pointer,
               engine_fit::format_value(model.parameters[j], fit.values[j]),
               fit.at_bound[j] ? " (held at 0)" : "");
  }
  for (const auto& [metric, s] : fit.in_sample) {
    fmt::print("in-sample {}\n", engine_fit::summary_line(metric, s));
  }
  for (const auto& h : fit.held_out) {
    for (const auto& [metric, s] : h.errors) {
      fmt::print("leave one {} out: {}\n", h.grouping, engine_fit::summary_line(metric, s));
    }
  }
  fmt::print("wrote engine.json and report.md to {}\n", out);
}

int run_calibrate_engine(const CalibrateEngineOptions& o) {
  const Json base = load_base(o);
  const auto parameters = engine_fit::resolve_parameters(base, o.fit, "--fit");
  const engine_fit::Templates templates = templates_of(o);
  std::vector<engine_fit::Filter> where;
  for (const auto& w : o.where) where.push_back(engine_fit::parse_filter(w));
  compare::CompareOptions options;
  options.fixed_overhead_ms = o.fixed_overhead_ms;
  options.queueing = o.queueing;
  const auto data = engine_fit::compare_data(templates, o.measurements, where, o.metrics, options);
  Progress progress("kvsim calibrate-engine: predictions", 1 + 2 * parameters.size(), !o.quiet);
  const auto model =
      engine_fit::linearise(base, parameters, data.observations, data.predict,
                            [&](std::size_t done, std::size_t) { progress.update(done); });
  const auto fit = engine_fit::fit_engine(model, data.observations,
                                          fmt::format("{}", fmt::join(o.measurements, ", ")));
  const auto in = inputs_of(o, data);
  const std::string name = base.value("name", std::string("engine"));
  const Json profile = engine_fit::profile_json(base, model, data.observations, fit, in);
  report::write_output(
      o.out, {{"engine.json", profile.dump(2) + "\n"},
              {"report.md", engine_fit::report_markdown(name, model, data.observations, fit, in)}});
  for (const auto& w : in.warnings) fmt::print(stderr, "kvsim: warning: {}\n", w);
  if (!o.quiet) print_summary(model, fit, o.out);
  return 0;
}

}  // namespace

void add_calibrate_engine(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "calibrate-engine",
      "Fit an engine's durations and attention scale to end-to-end TTFT/TPOT measurements "
      "(non-negative least squares on relative errors); report in-sample, leave-one-"
      "configuration/model/GPU-out errors; exit 2 when the measurements cannot determine a "
      "parameter, naming what to measure next");
  auto o = std::make_shared<CalibrateEngineOptions>();
  cmd->add_option("measurements", o->measurements,
                  "measurement files as kvsim compare reads them: CSV (model, gpu, precision, "
                  "tp, pp, batch, prompt_tokens, output_tokens, ttft_ms, tpot_ms), kvsim JSON, "
                  "`vllm bench serve --save-result --save-detailed` JSON")
      ->required();
  cmd->add_option("--scenario", o->scenario,
                  "template scenario the rows are predicted on (cluster, compute model; each "
                  "row sets model, precision, TP, PP, batch, lengths)");
  cmd->add_option("--gpu-scenario", o->gpu_scenarios,
                  "GPU=SCENARIO: the template for rows of that GPU (catalog name, e.g. "
                  "h100-sxm=scenarios/engines/dgx-h100.json); repeatable; rows of other GPUs use "
                  "--scenario")
      ->expected(1)
      ->take_all();
  cmd->add_option("--set", o->overrides,
                  "override a field of every template: /pointer=value")
      ->expected(1)
      ->take_all();
  cmd->add_option("--base", o->base,
                  "base engine JSON (the scenario's \"engine\" object, or a fitted profile): its "
                  "discrete choices are kept, its values are where the fit starts")
      ->required();
  cmd->add_option("--fit", o->fit,
                  "comma-separated JSON pointers into the engine of the durations and scales to "
                  "fit, e.g. /host/per_pass,/host/per_token,/attention/time_scale")
      ->delimiter(',')
      ->required();
  cmd->add_option("--where", o->where,
                  "keep only rows whose column has this value, or one of these (column=value or "
                  "column=v1,v2,...; columns: model, gpu, precision, engine, attention, tp, pp, "
                  "batch, prompt_tokens, output_tokens); repeatable, every filter must hold")
      ->expected(1)
      ->take_all();
  cmd->add_option("--metrics", o->metrics, "metrics to fit, of ttft, tpot (where measured)")
      ->delimiter(',')
      ->check(CLI::IsMember({"ttft", "tpot"}))
      ->capture_default_str();
  cmd->add_option("--name", o->name, "the fitted profile's name (default: the base's)");
  cmd->add_option("--description", o->description,
                  "the profile's description: what engine and version, measured on what");
  cmd->add_option("--fixed-overhead", o->fixed_overhead_ms,
                  "ms added to each TTFT prediction when the measurement counts from request "
                  "arrival (as kvsim compare)")
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_flag("--queueing", o->queueing,
                "replay vllm bench serve results through the serving simulation (as kvsim "
                "compare --queueing)");
  cmd->add_option("--out", o->out, "write engine.json (the fitted profile) and report.md here")
      ->required();
  cmd->add_flag("-q,--quiet", o->quiet, "print only warnings and errors");
  cmd->callback([&selected, o] { selected = [o] { return run_calibrate_engine(*o); }; });
}

}  // namespace kvsim::cli
