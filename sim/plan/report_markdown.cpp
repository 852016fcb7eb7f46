// plan.md (see report_markdown.hpp).
#include "sim/plan/report_markdown.hpp"

#include <map>

#include <fmt/format.h>

namespace kvsim::plan {
namespace {

std::string ms(const Json& seconds) {
  return seconds.is_null() ? "n/a" : fmt::format("{:.1f}", 1e3 * seconds.get<double>());
}

// "12.3 / 45.6": a metric's p50 and p99 at the target rate, in ms.
std::string p50_p99(const Json& v, const char* metric) {
  const Json& m = v["at_target"][metric];
  return ms(m["p50_s"]) + " / " + ms(m["p99_s"]);
}

void header(std::string& md, const PlanSpec& spec, const Screened& screened) {
  const WorkloadStats& w = screened.stats;
  fmt::format_to(std::back_inserter(md),
                 "# kvsim plan: {}\n\nTarget {:.4g} requests/s; {} requests of {:.1f} prompt and "
                 "{:.1f} output tokens on average (longest {}).\nSLOs:",
                 spec.name, spec.rate, w.requests, w.mean_prompt, w.mean_output, w.longest);
  for (const SloLimit& l : spec.slo.limits) {
    fmt::format_to(std::back_inserter(md), " {} <= {:.4g} s;", l.key, l.seconds);
  }
  if (spec.slo.has_attainment()) {
    fmt::format_to(std::back_inserter(md), " at least {:.4g} of requests within{}{};",
                   spec.slo.share,
                   spec.slo.ttft_s ? fmt::format(" TTFT {:.4g} s", *spec.slo.ttft_s) : "",
                   spec.slo.tpot_s ? fmt::format(" TPOT {:.4g} s", *spec.slo.tpot_s) : "");
  }
  md += "\nPrices per GPU-hour:";
  for (const GpuOption& g : spec.space.gpus) {
    fmt::format_to(std::back_inserter(md), " {} ${:.2f} ({});", g.name, g.price_per_hour,
                   g.price_source);
  }
  md += "\n\n";
}

void counts(std::string& md, const Screened& screened, const Json& verdicts) {
  std::map<std::string, std::size_t> by;
  std::size_t simulations = 0, reused = 0;
  for (const Json& v : verdicts) {
    reused += v.contains("same_result_as") ? 1 : 0;
    ++by[v["status"] == "pruned" ? "pruned (" + v["pruned"].get<std::string>() + ")"
                                 : v["status"].get<std::string>()];
    if (v.contains("simulations")) simulations += v["simulations"].get<std::size_t>();
  }
  fmt::format_to(std::back_inserter(md), "{} candidate layouts, {} simulated ({} serving "
                 "simulations):",
                 screened.candidates.size(), screened.survivors.size(), simulations);
  for (const auto& [what, n] : by) fmt::format_to(std::back_inserter(md), " {} {};", what, n);
  if (reused > 0) {
    fmt::format_to(std::back_inserter(md), " {} layouts took every simulation from an equivalent "
                   "layout (same_result_as in plan.csv: KV memory provably never binds, so block "
                   "size and preemption cannot change their runs);", reused);
  }
  md += "\n\n";
}

void ranked(std::string& md, const Json& plan) {
  md += "## Feasible layouts, cheapest first\n\nLatencies (p50 / p99 ms) and GPU busy at the "
        "target rate; $/M tok: per million output tokens at the highest rate meeting the SLOs."
        "\n\n| rank | layout | GPUs | $/hour | max rate/s | $/M tok | TTFT | TPOT | ITL | "
        "end-to-end | GPU busy | Pareto |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Json& i : plan["ranked"]) {
    const Json& v = plan["candidates"][i.get<std::size_t>()];
    const Json& cost = v["cost_per_million_output_tokens"];
    fmt::format_to(std::back_inserter(md),
                   "| {} | {} | {} | {:.2f} | {:.4g}{} | {} | {} | {} | {} | {} | {:.0f}% | {} |\n",
                   v["rank"].get<int>(), v["label"].get<std::string>(), v["gpus"].get<int>(),
                   v["cost_per_hour"].get<double>(), v["max_rate"].get<double>(),
                   v["reached_bound"].get<bool>() ? " (bound)" : "",
                   cost.is_null() ? "n/a" : fmt::format("{:.3f}", cost.get<double>()),
                   p50_p99(v, "ttft"), p50_p99(v, "tpot"), p50_p99(v, "itl"), p50_p99(v, "e2e"),
                   100 * v["at_target"]["gpu_busy_fraction"].get<double>(),
                   v.contains("pareto") ? "yes" : "");
  }
  if (plan["ranked"].empty()) md += "| - | no layout meets the SLOs at the target rate | | | | | | | | | | |\n";
  md += "\n";
}

void rejected(std::string& md, const Json& plan) {
  md += "## Layouts that failed, and why\n\n| layout | verdict | reason |\n|---|---|---|\n";
  for (const Json& v : plan["candidates"]) {
    if (v["status"] == "feasible") continue;
    const std::string verdict = v["status"] == "pruned"
                                    ? "pruned: " + v["pruned"].get<std::string>()
                                    : "rejected after simulation";
    fmt::format_to(std::back_inserter(md), "| {} | {} | {} |\n", v["label"].get<std::string>(),
                   verdict, v["reason"].get<std::string>());
  }
  md += "\n";
}

}  // namespace

std::string markdown(const PlanSpec& spec, const Screened& screened, const Json& plan) {
  std::string md;
  header(md, spec, screened);
  counts(md, screened, plan["candidates"]);
  ranked(md, plan);
  rejected(md, plan);
  return md;
}

}  // namespace kvsim::plan
