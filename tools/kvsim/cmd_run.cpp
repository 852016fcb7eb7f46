// `kvsim run SCENARIO`: the single-GPU cost breakdown of a prompt and a decode step (one GPU's
// shard under tensor parallelism), the decode step on its layout as kvsim serve prices it, the
// side-by-side comparison of the scenario's prefill strategies, and each strategy's fullest GPU
// against the usable HBM. Everything is computed and checked before anything is printed.
#include <optional>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/core/units.hpp"
#include "sim/report/breakdown.hpp"
#include "sim/report/cost_explanation.hpp"
#include "sim/report/output.hpp"
#include "sim/report/prefill_report.hpp"
#include "sim/scenario/precision_config.hpp"
#include "sim/scenario/prefill_memory.hpp"
#include "sim/serving/decode_step.hpp"
#include "sim/serving/speculative/spec_step.hpp"
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

std::string header(const Scenario& s) {
  std::string out = fmt::format("kvsim run: {} ({})\n", s.name, s.file);
  // Attention variants bound or shrink the KV cache: say how.
  std::string kv_kind;
  if (s.model.windowed_layers() > 0) {
    kv_kind = fmt::format("; {} of {} layers keep the last {} tokens", s.model.windowed_layers(),
                          s.model.layers, s.model.sliding_window);
  }
  if (s.model.mla.on()) kv_kind += "; latent attention: one compressed latent a layer";
  out += fmt::format("  model   {}: {} layers, hidden {}, {} heads / {} KV heads, {:.2f} B "
                     "parameters, KV {} per token ({}{})\n",
                     s.model.name, s.model.layers, s.model.hidden_size, s.model.heads,
                     s.model.kv_heads, static_cast<double>(s.model.parameters()) * 1e-9,
                     format_bytes(s.model.kv_bytes_per_token(s.precision.kv_cache)),
                     to_string(s.precision.kv_cache), kv_kind);
  if (s.model.moe.enabled()) {
    const MoeSpec& m = s.model.moe;
    out += fmt::format("  experts {} routed ({} per token) of width {}, {} shared; {} of {} layers "
                       "MoE; {:.2f} B active parameters; expert load {}\n",
                       m.experts, m.experts_per_token, m.expert_intermediate, m.shared_experts,
                       m.moe_layers(s.model.layers), s.model.layers,
                       static_cast<double>(s.model.active_parameters()) * 1e-9,
                       s.resolved["expert_load"].dump());
  }
  out += fmt::format("  memory  weights {} ({}), activations {} per token in flight, {} of HBM "
                     "per GPU\n",
                     format_bytes(s.model.weight_bytes(s.precision)),
                     describe_weights(s.precision),
                     format_bytes(s.model.activation_bytes_per_token(s.precision.activations)),
                     format_bytes(s.gpu.hbm_bytes));
  out += fmt::format("  cluster {} x {}\n", s.topology->gpu_count(), s.gpu.name);
  out += fmt::format("  compute {}\n\n", s.compute->describe());
  return out;
}

// Each strategy's fullest GPU, against the usable HBM.
std::string memory_table(const Scenario& s, const std::vector<CheckedPrefill>& runs) {
  const prefill::MemoryCapacity c = s.memory_capacity();
  std::string out = fmt::format("Memory at the peak, fullest GPU ({} usable per GPU: {} x {}):\n",
                                format_bytes(c.bytes()), format_bytes(c.hbm_bytes),
                                c.utilization);
  for (const CheckedPrefill& r : runs) {
    const prefill::GpuMemory& g = r.memory.peak();
    out += fmt::format("  {:<16} GPU {:<3} weights {:>11} + KV {:>11} + activations {:>11} = "
                       "{:>11} ({:.0f}%)\n",
                       r.result.label, g.gpu, format_bytes(g.weights), format_bytes(g.kv_cache),
                       format_bytes(g.activations), format_bytes(g.total()),
                       100.0 * g.total() / c.bytes());
  }
  return out;
}

Json memory_json(const Scenario& s, const std::vector<CheckedPrefill>& runs) {
  const prefill::MemoryCapacity c = s.memory_capacity();
  Json strategies = Json::array();
  for (const CheckedPrefill& r : runs) {
    Json gpus = Json::array();
    for (const prefill::GpuMemory& g : r.memory.gpus) {
      gpus.push_back(Json{{"gpu", g.gpu},
                          {"weights_bytes", g.weights},
                          {"kv_cache_bytes", g.kv_cache},
                          {"activation_bytes", g.activations},
                          {"score_matrix_bytes", g.scores},
                          {"total_bytes", g.total()}});
    }
    strategies.push_back(Json{{"strategy", r.result.label},
                              {"peak_gpu", r.memory.peak().gpu},
                              {"peak_bytes", r.memory.peak().total()},
                              {"gpus", gpus}});
  }
  return Json{{"hbm_bytes", c.hbm_bytes},
              {"memory_utilization", c.utilization},
              {"usable_bytes", c.bytes()},
              {"strategies", strategies}};
}

std::vector<report::PassBreakdown> single_gpu_passes(const Scenario& s) {
  std::vector<report::PassBreakdown> passes;
  DecomposeOptions options = s.decompose_options(1);
  if (s.prefill) {
    passes.push_back(report::prefill_breakdown(s.model, *s.compute, options,
                                               s.prefill->context_tokens));
  }
  if (s.decode) {
    options.tensor_parallel = s.decode->tensor_parallel;
    options.expert_parallel = s.decode->expert_degree();
    passes.push_back(report::decode_breakdown(s.model, *s.compute, options, s.decode->batch_size,
                                              s.decode->context_tokens));
    if (s.decode->pipeline_parallel > 1) {
      passes.back().what += fmt::format(" (all {} layers: each of the {} pipeline stages' GPUs "
                                        "runs its share)",
                                        s.model.layers, s.decode->pipeline_parallel);
    }
  }
  return passes;
}

// The decode step on its layout, as kvsim serve prices one iteration (after the breakdown,
// which bounds the batch before one KV length per request is allocated).
serving::DecodeStep decode_step(const Scenario& s) {
  const DecodeSpec& d = *s.decode;
  const std::vector<std::int64_t> lengths(static_cast<std::size_t>(d.batch_size),
                                          d.context_tokens);
  return serving::decode_step(s, d.tensor_parallel, d.pipeline_parallel, lengths,
                              static_cast<int>(d.expert_degree()));
}

double tokens_per_second(const DecodeSpec& d, const serving::DecodeStep& step) {
  return static_cast<double>(d.batch_size) / to_seconds(step.total);
}

std::string decode_text(const DecodeSpec& d, const serving::DecodeStep& step) {
  const int gpus = d.tensor_parallel * d.pipeline_parallel;
  return fmt::format(
      "Decode step, batch {} at {} KV tokens, on tensor_parallel {} x pipeline_parallel {} ({} "
      "GPU{}):\n  time per output token {:.6f} ms, {:.1f} tokens/s\n  = compute {:.6f} ms + "
      "communication {:.6f} ms ({} all-reduces, {} stage sends)\n  as kvsim serve prices it for "
      "these requests alone on this layout (closed-form communication, no host_overhead)\n",
      d.batch_size, d.context_tokens, d.tensor_parallel, d.pipeline_parallel, gpus,
      gpus == 1 ? "" : "s", to_seconds(step.total) * 1e3, tokens_per_second(d, step),
      to_seconds(step.compute) * 1e3, to_seconds(step.communication) * 1e3, step.all_reduces,
      step.sends);
}

Json decode_json(const DecodeSpec& d, const serving::DecodeStep& step) {
  return Json{{"tensor_parallel", d.tensor_parallel},
              {"pipeline_parallel", d.pipeline_parallel},
              {"batch_size", d.batch_size},
              {"context_tokens", d.context_tokens},
              {"time_per_output_token_ns", step.total.count()},
              {"time_per_output_token_ms", to_seconds(step.total) * 1e3},
              {"compute_ns", step.compute.count()},
              {"communication_ns", step.communication.count()},
              {"all_reduces", step.all_reduces},
              {"stage_sends", step.sends},
              {"tokens_per_second", tokens_per_second(d, step)}};
}

// The decode section's "drafter": the step with speculative decoding beside the plain one.
std::string speculative_text(const Scenario& s, const serving::speculative::SpeculativeStep& p,
                             const Json& drafter) {
  return fmt::format(
      "Speculative decoding, drafter {} (k {}, tree width {}):\n  expected tokens per step {:.4f}"
      " per sequence; time per output token {:.6f} ms ({:.1f} tokens/s), speed-up {:.3f}x\n"
      "  = (draft {:.6f} ms + verify of {} tokens per sequence {:.6f} ms) / {:.4f}; plain step "
      "{:.6f} ms\n  Leviathan et al.'s speed-up with verify = one plain step: {:.3f}x\n",
      drafter["type"].get<std::string>(), drafter["k"].dump(),
      drafter["tree_width"].dump(), p.tokens_per_step, p.tpot_s * 1e3,
      static_cast<double>(s.decode->batch_size) / p.tpot_s, p.speedup,
      to_seconds(p.draft) * 1e3, p.verify_tokens, to_seconds(p.verify) * 1e3, p.tokens_per_step,
      to_seconds(p.plain) * 1e3, p.leviathan_speedup);
}

// The one-GPU table prices every operation of the model on one GPU, also when its weights
// could not be held there: say so, so the table is not read as a runnable layout.
std::string single_gpu_fit_note(const Scenario& s) {
  const double weights = s.model.weight_bytes(s.precision);
  const double usable = s.memory_capacity().bytes();
  if (weights <= usable) return "";
  return fmt::format("(the model's weights, {}, exceed one GPU's {} usable: this table prices "
                     "its operations for comparison only; no single GPU can run it)\n",
                     format_bytes(weights), format_bytes(usable));
}

// The printed report, rendered whole so that a run that fails prints nothing but the error.
std::string report_text(const RunOptions& o, const Scenario& s,
                        const std::vector<report::PassBreakdown>& passes,
                        const std::optional<serving::DecodeStep>& step,
                        const std::vector<CheckedPrefill>& runs,
                        const std::vector<prefill::PrefillResult>& strategies) {
  std::string out = header(s) + "One GPU, per-operation cost:\n" + single_gpu_fit_note(s);
  for (const auto& p : passes) out += report::format_table(p) + "\n";
  if (o.explain_costs) {
    out += fmt::format("Where each cost comes from ({}):\n", s.compute->describe());
    for (const auto& p : passes) out += report::format_explained(p) + "\n";
  }
  if (step) out += decode_text(*s.decode, *step) + "\n";
  if (strategies.empty()) return out;
  out += fmt::format("Prefill of {} tokens on {} GPUs ({} attention):\n",
                     s.prefill->context_tokens, s.prefill->gpus.size(),
                     s.prefill->attention == AttentionImpl::kFused ? "fused" : "eager");
  return out + report::format_prefill_table(strategies) + "\n" + memory_table(s, runs);
}

int run(const RunOptions& o) {
  Scenario s = load(o.scenario);
  if (!s.prefill && !s.decode) {  // a serving-only scenario: nothing for run to price
    throw InputError(s.file, "", "kvsim run prices a \"prefill\" or \"decode\" section and this "
                                 "scenario has neither; run its \"serving\" section with kvsim "
                                 "serve");
  }
  // Every check and every simulation runs before anything is printed or written.
  const std::vector<report::PassBreakdown> passes = single_gpu_passes(s);
  std::optional<serving::DecodeStep> step;
  if (s.decode) step = decode_step(s);
  std::string speculative;  // the decode section's drafter, if any
  Json speculative_json;
  if (serving::speculative::decode_drafter_json(s)) {
    const auto drafter = serving::speculative::decode_drafter(s);
    const auto spec = serving::speculative::speculative_step(s, *drafter);
    speculative = speculative_text(s, spec, drafter->to_json()) + "\n";
    speculative_json = serving::speculative::to_json(spec);
    speculative_json["drafter"] = drafter->to_json();
    if (const auto w = serving::speculative::drafter_memory_warning(s, *drafter)) {
      s.warnings.push_back(*w);
      refuse_warnings_if_strict(s, o.scenario.strict);
    }
  }
  std::vector<CheckedPrefill> runs;
  if (s.prefill && !s.prefill->strategies.empty()) runs = run_prefill(s, o.trace);
  std::vector<prefill::PrefillResult> strategies;
  for (const CheckedPrefill& r : runs) strategies.push_back(r.result);

  Json results{{"scenario", s.name}, {"warnings", s.warnings}};
  Json single = Json::array();
  for (const auto& p : passes) single.push_back(report::to_json(p));
  results["single_gpu"] = single;
  if (step) results["decode"] = decode_json(*s.decode, *step);
  if (!speculative_json.is_null()) results["decode"]["speculative"] = speculative_json;
  if (!strategies.empty()) {
    results["prefill"] = report::prefill_json(strategies, *s.topology);
    results["memory"] = memory_json(s, runs);
  }
  std::string explained;  // --explain-costs: each strategy's per-GPU shards and stage costs
  if (o.explain_costs) {
    const int decode_tp = s.decode ? s.decode->tensor_parallel : 1;
    const report::CostExplanation e = report::explain_costs(s, strategies, decode_tp);
    results["cost_explanation"] = e.json();
    explained = e.text();
  }
  const std::string text =
      o.quiet ? "" : report_text(o, s, passes, step, runs, strategies) + speculative + explained;
  std::vector<report::OutputFile> files;
  if (!o.out.empty()) {
    files = {{"results.json", results.dump(2) + "\n"},
             {"scenario.resolved.json", s.resolved.dump(2) + "\n"},
             {"breakdown.csv", report::to_csv(passes, s.warnings)}};
    if (!strategies.empty()) {
      files.emplace_back("prefill.csv", report::prefill_csv(strategies, s.warnings));
    }
    if (o.trace && !strategies.empty()) {
      files.emplace_back("trace.json",
                         report::chrome_trace(strategies, report::parse_trace_limit(o.trace_limit),
                                              s.file, s.warnings));
    }
    report::write_output(o.out, files);
  }
  print_warnings(s);
  fmt::print("{}", text);
  if (!o.out.empty() && !o.quiet) fmt::print("\nwrote {} files to {}\n", files.size(), o.out);
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
                "measured, interpolated, extrapolated or from the roofline; per strategy and "
                "for the decode step: each GPU's shard (queries, keys, heads, weights) and its "
                "per-layer qkv, attention, rest and communication (also cost_explanation in "
                "results.json)");
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing but warnings and errors");
  cmd->callback([&selected, o] { selected = [o] { return run(*o); }; });
}

}  // namespace kvsim::cli
