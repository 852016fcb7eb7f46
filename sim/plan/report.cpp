// The plan's tables and JSON (see report.hpp); the Markdown is in report_markdown.cpp.
#include "sim/plan/report.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "sim/plan/report_markdown.hpp"

namespace kvsim::plan {
namespace {

const std::vector<std::string> kSettingColumns{
    "index",      "model",       "gpu",          "tensor_parallel", "pipeline_parallel",
    "replicas",   "expert_parallel", "gpus",     "scheduler",       "max_batch_size",
    "max_batched_tokens", "preemption", "block_size", "utilization", "price_per_gpu_hour",
    "cost_per_hour"};
const std::vector<std::string> kSloMetrics{"ttft", "tpot", "itl", "e2e"};

std::string cell(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  if (v.is_number_float()) return fmt::format("{:.6g}", v.get<double>());
  return v.dump();
}

std::string ms(const Json& seconds) {
  return seconds.is_null() ? "" : fmt::format("{:.3f}", 1e3 * seconds.get<double>());
}

// The plan's setting columns: the colocated ones, then those of the layout axes it searches
// (so a plan without them writes the columns it always did).
std::vector<std::string> setting_columns(const PlanSpec& spec) {
  std::vector<std::string> c = kSettingColumns;
  if (spec.space.disaggregated) {
    for (const char* key : {"layout", "prefill_instances", "prefill_gpus", "prefill_strategy",
                            "decode_instances", "decode_tensor_parallel", "transfer", "policy"}) {
      c.push_back(key);
    }
  }
  const auto& drafters = spec.space.drafters;
  if (drafters.size() > 1 || !drafters.front().config.is_null()) {
    c.push_back("drafter");
    c.push_back("draft_tokens");
  }
  return c;
}

std::vector<std::string> columns(const PlanSpec& spec) {
  std::vector<std::string> c = setting_columns(spec);
  for (const char* extra : {"family", "status", "rank", "pareto", "max_rate", "rate_bound",
                            "bound_by", "cost_per_million_output_tokens", "simulations"}) {
    c.push_back(extra);
  }
  for (const auto& m : kSloMetrics) {
    c.push_back(m + "_p50_ms");
    c.push_back(m + "_p99_ms");
  }
  for (const char* extra : {"gpu_utilization", "attainment", "reason", "same_result_as"}) {
    c.push_back(extra);
  }
  return c;
}

// The verdict of one candidate, as plan.json holds it.
Json verdict(const Candidate& c, const Screening& s, const Json& evaluation) {
  Json v = c.to_json();
  v["family"] = c.family();
  if (s.pruned()) {
    v["status"] = "pruned";
    v["pruned"] = s.pruned_kind;
    v["reason"] = s.reason;
    return v;
  }
  v["rate_bound"] = s.rate_bound;
  v["bound_by"] = s.bound_by;
  v["kv_tokens_per_scheduler"] = s.kv_tokens_per_stage;
  for (const auto& [key, value] : evaluation.items()) {
    if (key != "index") v[key] = value;
  }
  if (v["status"] == "feasible") {
    const double out_per_s = v["at_max_rate"]["output_throughput"].get<double>();
    v["cost_per_million_output_tokens"] =
        out_per_s > 0 ? Json(c.cost_per_hour() / (out_per_s * 3600) * 1e6) : Json(nullptr);
  }
  return v;
}

std::vector<std::string> row(const Json& v, const std::vector<std::string>& names,
                             const std::vector<std::string>& settings) {
  std::vector<std::string> r;
  for (const auto& name : settings) r.push_back(v.contains(name) ? cell(v[name]) : "");
  const std::string status =
      v["status"] == "pruned" ? "pruned:" + v["pruned"].get<std::string>() : cell(v["status"]);
  r.push_back(cell(v["family"]));
  r.push_back(status);
  for (const char* key : {"rank", "pareto", "max_rate", "rate_bound", "bound_by",
                          "cost_per_million_output_tokens", "simulations"}) {
    r.push_back(v.contains(key) ? cell(v[key]) : "");
  }
  const Json at = v.contains("at_target") ? v["at_target"] : Json::object();
  for (const auto& m : kSloMetrics) {
    r.push_back(at.empty() ? "" : ms(at[m]["p50_s"]));
    r.push_back(at.empty() ? "" : ms(at[m]["p99_s"]));
  }
  r.push_back(at.empty() ? "" : cell(at["gpu_busy_fraction"]));
  r.push_back(at.empty() ? "" : cell(at["attainment"]));
  r.push_back(v.contains("reason") ? cell(v["reason"]) : "");
  r.push_back(v.contains("same_result_as") ? cell(v["same_result_as"]) : "");
  if (r.size() != names.size()) throw std::logic_error("plan.csv row and header disagree");
  return r;
}

std::vector<std::size_t> rank(const Json& verdicts) {
  std::vector<std::size_t> ranked;
  for (std::size_t i = 0; i < verdicts.size(); ++i) {
    if (verdicts[i]["status"] == "feasible") ranked.push_back(i);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [&](std::size_t a, std::size_t b) {
    const double ca = verdicts[a]["cost_per_hour"], cb = verdicts[b]["cost_per_hour"];
    if (ca != cb) return ca < cb;
    return verdicts[a]["max_rate"].get<double>() > verdicts[b]["max_rate"].get<double>();
  });
  return ranked;
}

// The latency a layout is placed at on the frontier: pareto_metric at the target rate.
double latency(const PlanSpec& spec, const Json& v) {
  const auto cut = spec.pareto_metric.find('_');
  const Json x = v["at_target"][spec.pareto_metric.substr(0, cut)]
                  [spec.pareto_metric.substr(cut + 1) + "_s"];
  return x.is_null() ? std::numeric_limits<double>::infinity() : x.get<double>();
}

// `ranked` is by cost, so one pass keeps each layout faster than every cheaper one.
std::vector<std::size_t> frontier(const PlanSpec& spec, const Json& verdicts,
                                  const std::vector<std::size_t>& ranked) {
  std::vector<std::size_t> by_cost = ranked;
  std::stable_sort(by_cost.begin(), by_cost.end(), [&](std::size_t a, std::size_t b) {
    const double ca = verdicts[a]["cost_per_hour"], cb = verdicts[b]["cost_per_hour"];
    if (ca != cb) return ca < cb;
    return latency(spec, verdicts[a]) < latency(spec, verdicts[b]);
  });
  std::vector<std::size_t> out;
  double best = std::numeric_limits<double>::infinity();
  for (const std::size_t i : by_cost) {
    if (latency(spec, verdicts[i]) < best) {
      best = latency(spec, verdicts[i]);
      out.push_back(i);
    }
  }
  return out;
}

Table pareto_table(const PlanSpec& spec, const Json& verdicts,
                   const std::vector<std::size_t>& front) {
  Table t;
  t.columns = {"index", "family", "label", "gpus", "cost_per_hour", spec.pareto_metric + "_ms",
               "max_rate", "cost_per_million_output_tokens"};
  for (const std::size_t i : front) {
    const Json& v = verdicts[i];
    t.rows.push_back({cell(v["index"]), cell(v["family"]), cell(v["label"]), cell(v["gpus"]),
                      cell(v["cost_per_hour"]), fmt::format("{:.3f}", 1e3 * latency(spec, v)),
                      cell(v["max_rate"]), cell(v["cost_per_million_output_tokens"])});
  }
  return t;
}

}  // namespace

PlanReport build_report(const PlanSpec& spec, const Screened& screened,
                        const std::vector<Json>& evaluations) {
  PlanReport r;
  Json verdicts = Json::array();
  for (std::size_t i = 0; i < screened.candidates.size(); ++i) {
    verdicts.push_back(verdict(screened.candidates[i], screened.screenings[i], evaluations[i]));
    verdicts.back()["label"] = screened.candidates[i].label();
  }
  r.ranked = rank(verdicts);
  for (std::size_t k = 0; k < r.ranked.size(); ++k) verdicts[r.ranked[k]]["rank"] = k + 1;
  const std::vector<std::size_t> front = frontier(spec, verdicts, r.ranked);
  for (const std::size_t i : front) verdicts[i]["pareto"] = true;
  r.table.columns = columns(spec);
  const std::vector<std::string> settings = setting_columns(spec);
  for (const Json& v : verdicts) r.table.rows.push_back(row(v, r.table.columns, settings));
  r.pareto = pareto_table(spec, verdicts, front);
  r.warnings = layout_warnings(screened);
  r.json = Json{{"plan", spec.resolved},
                {"target_rate", spec.rate},
                {"workload", {{"requests", screened.stats.requests},
                              {"mean_prompt_tokens", screened.stats.mean_prompt},
                              {"mean_output_tokens", screened.stats.mean_output},
                              {"longest_request_tokens", screened.stats.longest}}},
                {"candidates", verdicts},
                {"ranked", r.ranked},
                {"pareto", front},
                {"warnings", r.warnings}};
  for (const GpuOption& g : spec.space.gpus) {
    r.json["prices"].push_back({{"gpu", g.name}, {"price_per_gpu_hour", g.price_per_hour},
                                {"source", g.price_source}});
  }
  r.json["best"] = r.ranked.empty() ? Json(nullptr) : Json(r.ranked.front());
  r.markdown = markdown(spec, screened, r.json);
  return r;
}

}  // namespace kvsim::plan
