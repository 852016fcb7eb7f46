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
#include "tools/api/api.hpp"
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

// Data-parallel attention's step (sim/serving/dp_attention.hpp), from results.json's.
std::string data_parallel_text(const DecodeSpec& d, const serving::DecodeStep& step) {
  const serving::DpAttentionStep& dp = *step.data_parallel;
  return fmt::format(
      "Decode step, batch {} at {} KV tokens, data-parallel attention on {} ranks with the "
      "routed experts split over them (EP {}):\n  time per output token {:.6f} ms, {:.1f} "
      "tokens/s\n  = compute {:.6f} ms + communication {:.6f} ms ({} all-to-alls of {} each)\n"
      "  batch split round-robin by sequence: the busiest rank runs {} sequences; per GPU "
      "weights {}, KV {}\n",
      d.batch_size, d.context_tokens, d.tensor_parallel, d.tensor_parallel,
      to_seconds(step.total) * 1e3,
      static_cast<double>(d.batch_size) / to_seconds(step.total), to_seconds(step.compute) * 1e3,
      to_seconds(step.communication) * 1e3, step.all_to_alls, format_bytes(dp.all_to_all_bytes),
      dp.busiest_sequences, format_bytes(dp.weight_bytes_per_gpu),
      format_bytes(dp.kv_bytes_per_gpu));
}

std::string decode_text(const DecodeSpec& d, const serving::DecodeStep& step, const Json& json) {
  if (step.data_parallel) return data_parallel_text(d, step);
  const int gpus = d.tensor_parallel * d.pipeline_parallel;
  return fmt::format(
      "Decode step, batch {} at {} KV tokens, on tensor_parallel {} x pipeline_parallel {} ({} "
      "GPU{}):\n  time per output token {:.6f} ms, {:.1f} tokens/s\n  = compute {:.6f} ms + "
      "communication {:.6f} ms ({} all-reduces, {} stage sends)\n  as kvsim serve prices it for "
      "these requests alone on this layout (closed-form communication, no host_overhead)\n",
      d.batch_size, d.context_tokens, d.tensor_parallel, d.pipeline_parallel, gpus,
      gpus == 1 ? "" : "s", to_seconds(step.total) * 1e3, json["tokens_per_second"].get<double>(),
      to_seconds(step.compute) * 1e3, to_seconds(step.communication) * 1e3, step.all_reduces,
      step.sends);
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
std::string report_text(const RunOptions& o, const api::RunOutcome& x) {
  const Scenario& s = x.scenario;
  std::string out = header(s) + "One GPU, per-operation cost:\n" + single_gpu_fit_note(s);
  for (const auto& p : x.passes) out += report::format_table(p) + "\n";
  if (o.explain_costs) {
    out += fmt::format("Where each cost comes from ({}):\n", s.compute->describe());
    for (const auto& p : x.passes) out += report::format_explained(p) + "\n";
  }
  if (x.step) out += decode_text(*s.decode, *x.step, x.results["decode"]) + "\n";
  if (x.strategies.empty()) return out;
  out += fmt::format("Prefill of {} tokens on {} GPUs ({} attention):\n",
                     s.prefill->context_tokens, s.prefill->gpus.size(),
                     s.prefill->attention == AttentionImpl::kFused ? "fused" : "eager");
  return out + report::format_prefill_table(x.strategies) + "\n" + memory_table(s, x.runs);
}

int run(const RunOptions& o) {
  // Every check and every simulation runs before anything is printed or written.
  const api::RunOutcome x =
      api::run(api::read_document(o.scenario.path, o.scenario.overrides),
               {.strict = o.scenario.strict, .trace = o.trace, .explain_costs = o.explain_costs});
  const Scenario& s = x.scenario;
  std::string text;
  if (!o.quiet) {
    text = report_text(o, x);
    if (x.speculative) text += speculative_text(s, *x.speculative, x.drafter) + "\n";
    if (x.explanation) text += x.explanation->text();
  }
  std::vector<report::OutputFile> files;
  if (!o.out.empty()) {
    files = {{"results.json", x.results.dump(2) + "\n"},
             {"scenario.resolved.json", s.resolved.dump(2) + "\n"},
             {"breakdown.csv", report::to_csv(x.passes, s.warnings)}};
    if (!x.strategies.empty()) {
      files.emplace_back("prefill.csv", report::prefill_csv(x.strategies, s.warnings));
    }
    if (o.trace && !x.strategies.empty()) {
      files.emplace_back("trace.json",
                         report::chrome_trace(x.strategies,
                                              report::parse_trace_limit(o.trace_limit), s.file,
                                              s.warnings));
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
