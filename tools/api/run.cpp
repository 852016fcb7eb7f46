// kvsim run's computation (see api.hpp): every check and every simulation, and results.json.
#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/report/prefill_report.hpp"
#include "tools/api/api.hpp"

namespace kvsim::api {
namespace {

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

// Data-parallel attention: the busiest rank's share of the batch on its GPU (attention at
// tensor parallel 1); its routed experts are those of its own tokens, while the step prices
// the busiest expert rank over every rank's tokens (sim/serving/dp_attention.hpp).
report::PassBreakdown data_parallel_breakdown(const Scenario& s) {
  const DecodeSpec& d = *s.decode;
  const std::int64_t ranks = d.tensor_parallel;
  const std::int64_t share = (d.batch_size + ranks - 1) / ranks;  // round-robin: rank 0's
  report::PassBreakdown pass = report::decode_breakdown(
      s.model, *s.compute, s.decompose_options(1, ranks), share, d.context_tokens);
  pass.what += fmt::format(" (data-parallel attention: the busiest of {} ranks, {} of the {} "
                           "sequences; its routed experts are its own tokens', the step's are "
                           "the busiest expert rank's over all {} tokens)",
                           ranks, share, d.batch_size, d.batch_size);
  return pass;
}

std::vector<report::PassBreakdown> single_gpu_passes(const Scenario& s) {
  std::vector<report::PassBreakdown> passes;
  DecomposeOptions options = s.decompose_options(1);
  if (s.prefill) {
    passes.push_back(report::prefill_breakdown(s.model, *s.compute, options,
                                               s.prefill->context_tokens));
  }
  if (s.decode && s.decode->data_parallel_attention) {
    passes.push_back(data_parallel_breakdown(s));
  } else if (s.decode) {
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
  return serving::decode_section_step(s, lengths);
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
              {"tokens_per_second",
               static_cast<double>(d.batch_size) / to_seconds(step.total)}};
}

// Data-parallel attention's breakdown (sim/serving/dp_attention.hpp), when the step has it.
void add_data_parallel_json(Json& decode, const serving::DecodeStep& step) {
  if (!step.data_parallel) return;
  const serving::DpAttentionStep& dp = *step.data_parallel;
  decode["data_parallel_attention"] = Json{
      {"ranks", decode["tensor_parallel"]},
      {"split", "round-robin by sequence"},
      {"busiest_rank_sequences", dp.busiest_sequences},
      {"busiest_rank_attention_part_s_per_layer", dp.attention_seconds},
      {"busiest_expert_rank_s_per_layer", dp.experts_seconds},
      {"all_to_alls", dp.all_to_alls},
      {"all_to_all_bytes", dp.all_to_all_bytes},
      {"all_to_all_ns", dp.all_to_all_time.count()},
      {"weight_bytes_per_gpu", dp.weight_bytes_per_gpu},
      {"kv_bytes_per_gpu", dp.kv_bytes_per_gpu}};
}

// The decode section's drafter, if any: its step, and a warning when it does not fit.
void add_speculative(RunOutcome& x, bool strict) {
  if (!serving::speculative::decode_drafter_json(x.scenario)) return;
  const auto drafter = serving::speculative::decode_drafter(x.scenario);
  x.speculative = serving::speculative::speculative_step(x.scenario, *drafter);
  x.drafter = drafter->to_json();
  if (const auto w = serving::speculative::drafter_memory_warning(x.scenario, *drafter)) {
    x.scenario.warnings.push_back(*w);
    refuse_warnings_if_strict(x.scenario, strict);
  }
}

Json results_json(const RunOutcome& x) {
  const Scenario& s = x.scenario;
  Json results{{"scenario", s.name}, {"warnings", s.warnings}};
  Json single = Json::array();
  for (const auto& p : x.passes) single.push_back(report::to_json(p));
  results["single_gpu"] = single;
  if (x.step) {
    results["decode"] = decode_json(*s.decode, *x.step);
    add_data_parallel_json(results["decode"], *x.step);
  }
  if (x.speculative) {
    Json spec = serving::speculative::to_json(*x.speculative);
    spec["drafter"] = x.drafter;
    results["decode"]["speculative"] = spec;
  }
  if (!x.strategies.empty()) {
    results["prefill"] = report::prefill_json(x.strategies, *s.topology);
    results["memory"] = memory_json(s, x.runs);
  }
  if (x.explanation) results["cost_explanation"] = x.explanation->json();
  return results;
}

}  // namespace

RunOutcome run(const ConfigDocument& doc, const RunRequest& request) {
  RunOutcome x(read_scenario(doc, request.strict));
  const Scenario& s = x.scenario;
  if (request.explain_costs && s.decode && s.decode->data_parallel_attention) {
    throw InputError(s.file, "/decode/data_parallel_attention",
                     "--explain-costs of a data-parallel-attention decode step is not built (its "
                     "per-GPU shards differ by rank); run without --explain-costs, whose "
                     "results.json \"decode\" carries the step's breakdown");
  }
  if (!s.prefill && !s.decode) {  // a serving-only scenario: nothing for run to price
    throw InputError(s.file, "", "kvsim run prices a \"prefill\" or \"decode\" section and this "
                                 "scenario has neither; run its \"serving\" section with kvsim "
                                 "serve");
  }
  x.passes = single_gpu_passes(s);
  if (s.decode) x.step = decode_step(s);
  add_speculative(x, request.strict);
  if (s.prefill && !s.prefill->strategies.empty()) x.runs = run_prefill(s, request.trace);
  for (const CheckedPrefill& r : x.runs) x.strategies.push_back(r.result);
  if (request.explain_costs) {
    const int decode_tp = s.decode ? s.decode->tensor_parallel : 1;
    x.explanation = report::explain_costs(s, x.strategies, decode_tp);
  }
  x.results = results_json(x);
  return x;
}

}  // namespace kvsim::api
