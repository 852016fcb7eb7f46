// `kvsim run SCENARIO`: the single-GPU cost breakdown of a prompt and a decode step, and the
// side-by-side comparison of the scenario's prefill strategies.
#include <fmt/format.h>

#include "sim/core/units.hpp"
#include "sim/report/breakdown.hpp"
#include "sim/report/output.hpp"
#include "sim/report/prefill_report.hpp"
#include "tools/kvsim/scenario_loading.hpp"

namespace kvsim::cli {
namespace {

struct RunOptions {
  ScenarioOptions scenario;
  std::string out;
  bool trace = false;
  std::string trace_limit = "1GiB";
  bool quiet = false;
  bool explain_costs = false;
};

void print_header(const Scenario& s) {
  fmt::print("kvsim run: {} ({})\n", s.name, s.file);
  fmt::print("  model   {}: {} layers, hidden {}, {} heads / {} KV heads, {:.2f} B parameters, "
             "KV {} per token ({})\n",
             s.model.name, s.model.layers, s.model.hidden_size, s.model.heads, s.model.kv_heads,
             static_cast<double>(s.model.parameters()) * 1e-9,
             format_bytes(s.model.kv_bytes_per_token(s.precision.kv_cache)),
             to_string(s.precision.kv_cache));
  fmt::print("  memory  weights {} ({}), activations {} per token in flight, {} of HBM per GPU\n",
             format_bytes(s.model.weight_bytes(s.precision.weights)),
             to_string(s.precision.weights),
             format_bytes(s.model.activation_bytes_per_token(s.precision.activations)),
             format_bytes(s.gpu.hbm_bytes));
  fmt::print("  cluster {} x {}\n", s.topology->gpu_count(), s.gpu.name);
  fmt::print("  compute {}\n\n", s.compute->describe());
}

int run(const RunOptions& o) {
  const Scenario s = load(o.scenario);
  for (const auto& w : s.warnings) fmt::print(stderr, "kvsim: warning: {}\n", w);
  Json results{{"scenario", s.name}};
  std::vector<report::PassBreakdown> passes;
  DecomposeOptions options;
  options.precision = s.precision;
  if (s.prefill) options.attention = s.prefill->attention;
  if (s.prefill) {
    passes.push_back(report::prefill_breakdown(s.model, *s.compute, options,
                                               s.prefill->context_tokens));
  }
  if (s.decode) {
    passes.push_back(report::decode_breakdown(s.model, *s.compute, options, s.decode->batch_size,
                                              s.decode->context_tokens));
  }
  if (!o.quiet) {
    print_header(s);
    fmt::print("One GPU, per-operation cost:\n");
    for (const auto& p : passes) fmt::print("{}\n", report::format_table(p));
    if (o.explain_costs) {
      fmt::print("Where each cost comes from ({}):\n", s.compute->describe());
      for (const auto& p : passes) fmt::print("{}\n", report::format_explained(p));
    }
  }
  Json single = Json::array();
  for (const auto& p : passes) single.push_back(report::to_json(p));
  results["single_gpu"] = single;

  std::vector<prefill::PrefillResult> strategies;
  if (s.prefill && !s.prefill->strategies.empty()) {
    const prefill::PrefillSetup setup = s.prefill_setup();
    for (const auto& strategy : s.prefill->strategies) {
      strategies.push_back(strategy->run(setup, o.trace));
    }
    if (!o.quiet) {
      fmt::print("Prefill of {} tokens on {} GPUs ({} attention):\n", s.prefill->context_tokens,
                 s.prefill->gpus.size(),
                 s.prefill->attention == AttentionImpl::kFused ? "fused" : "eager");
      fmt::print("{}", report::format_prefill_table(strategies));
    }
    results["prefill"] = report::prefill_json(strategies, *s.topology);
  }
  if (!o.out.empty()) {
    std::vector<report::OutputFile> files{
        {"results.json", results.dump(2) + "\n"},
        {"scenario.resolved.json", s.resolved.dump(2) + "\n"},
        {"breakdown.csv", report::to_csv(passes)}};
    if (!strategies.empty()) files.emplace_back("prefill.csv", report::prefill_csv(strategies));
    if (o.trace && !strategies.empty()) {
      files.emplace_back("trace.json",
                         report::chrome_trace(strategies, report::parse_trace_limit(o.trace_limit),
                                              s.file, s.warnings));
    }
    report::write_output(o.out, files);
    if (!o.quiet) fmt::print("\nwrote {} files to {}\n", files.size(), o.out);
  }
  return 0;
}

}  // namespace

void add_run(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand("run", "Run a scenario and print its results");
  auto o = std::make_shared<RunOptions>();
  add_scenario_options(*cmd, o->scenario);
  cmd->add_option("--out", o->out, "write results.json, CSV tables and the resolved scenario "
                                   "to this directory");
  cmd->add_flag("--trace", o->trace, "also write trace.json (Chrome trace events: Perfetto, "
                                     "chrome://tracing)")
      ->needs("--out");  // without a directory the trace would silently go nowhere
  cmd->add_option("--trace-limit", o->trace_limit,
                  "refuse to write a trace.json larger than this (a size: 500MB, 4GiB)")
      ->capture_default_str()
      ->check(
          [](const std::string& v) {
            try {
              report::parse_trace_limit(v);
              return std::string();
            } catch (const InputError& e) {
              return e.message();
            }
          },
          "SIZE");
  cmd->add_flag("--explain-costs", o->explain_costs,
                "per operation: shape, time per call, achieved rates, and whether the cost was "
                "measured, interpolated, extrapolated or from the roofline");
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  cmd->callback([&selected, o] { selected = [o] { return run(*o); }; });
}

}  // namespace kvsim::cli
