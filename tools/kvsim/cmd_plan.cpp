// `kvsim plan PLAN`: the cheapest layouts that serve a workload within its SLOs. Screens every
// candidate layout of the plan's search space (printing what it pruned and why), finds each
// survivor's highest rate meeting the SLOs by serving simulations, and prints the ranked
// layouts and the cost-against-latency Pareto frontier; --out writes plan.json, plan.csv,
// plan.md, pareto.csv and plan.scenario.json (the best layout at the target rate, for
// `kvsim serve`). Output is the same for any thread count.
#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/plan/report.hpp"
#include "sim/report/output.hpp"
#include "tools/kvsim/commands.hpp"
#include "tools/kvsim/progress.hpp"
#include "tools/kvsim/scenario_loading.hpp"

namespace kvsim::cli {
namespace {

struct PlanOptions {
  std::string path;
  std::vector<std::string> sets;
  std::string out;
  std::size_t show = 10;  // lines per section on the terminal
  bool quiet = false;
  bool strict = false;
};

// What screening pruned, by kind: up to `show` lines each, then how many more.
void print_pruned(const plan::Screened& s, std::size_t show) {
  std::map<std::string, std::vector<std::size_t>> by_kind;
  for (std::size_t i = 0; i < s.candidates.size(); ++i) {
    if (s.screenings[i].pruned()) by_kind[s.screenings[i].pruned_kind].push_back(i);
  }
  fmt::print("pruned before simulation: {} of {}\n",
             s.candidates.size() - s.survivors.size(), s.candidates.size());
  for (const auto& [kind, indices] : by_kind) {
    fmt::print("  {} ({}):\n", kind, indices.size());
    for (std::size_t k = 0; k < std::min(show, indices.size()); ++k) {
      fmt::print("    #{} {}: {}\n", indices[k], s.candidates[indices[k]].label(),
                 s.screenings[indices[k]].reason);
    }
    if (indices.size() > show) {
      fmt::print("    ... and {} more (plan.csv and plan.md list each)\n", indices.size() - show);
    }
  }
}

void print_ranked(const plan::PlanReport& r, std::size_t show) {
  const Json& all = r.json["candidates"];
  fmt::print("{} layouts meet the SLOs at the target rate; cheapest first:\n", r.ranked.size());
  fmt::print("  {:>4} {:<58} {:>9} {:>10} {:>9} {:>10} {:>10}\n", "rank", "layout", "$/hour",
             "max rate/s", "$/M tok", "TTFT p99", "TPOT p99");
  for (std::size_t k = 0; k < std::min(show, r.ranked.size()); ++k) {
    const Json& v = all[r.ranked[k]];
    const Json& cost = v["cost_per_million_output_tokens"];
    const auto ms = [](const Json& s) {
      return s.is_null() ? std::string("n/a") : fmt::format("{:.1f}ms", 1e3 * s.get<double>());
    };
    fmt::print("  {:>4} {:<58} {:>9.2f} {:>10.4g} {:>9} {:>10} {:>10}{}\n", k + 1,
               v["label"].get<std::string>(), v["cost_per_hour"].get<double>(),
               v["max_rate"].get<double>(),
               cost.is_null() ? "n/a" : fmt::format("{:.3f}", cost.get<double>()),
               ms(v["at_target"]["ttft"]["p99_s"]), ms(v["at_target"]["tpot"]["p99_s"]),
               v.contains("pareto") ? "  pareto" : "");
  }
}

void print_rejected(const plan::PlanReport& r, std::size_t show) {
  std::size_t n = 0;
  for (const Json& v : r.json["candidates"]) {
    if (v["status"] != "rejected") continue;
    if (n++ < show) {
      fmt::print("  #{} {}: {}\n", v["index"].get<std::size_t>(), v["label"].get<std::string>(),
                 v["reason"].get<std::string>());
    }
  }
  if (n > show) fmt::print("  ... and {} more (plan.csv and plan.md list each)\n", n - show);
}

void write(const plan::PlanSpec& spec, const plan::Screened& s, const plan::PlanReport& r,
           const std::string& out) {
  std::vector<report::OutputFile> files{{"plan.json", r.json.dump(2) + "\n"},
                                        {"plan.csv", r.table.csv()},
                                        {"plan.md", r.markdown},
                                        {"pareto.csv", r.pareto.csv()}};
  if (!r.ranked.empty()) {
    const ConfigDocument best =
        plan::scenario_document(spec, s.candidates[r.ranked.front()], spec.rate);
    files.push_back({"plan.scenario.json", best.json().dump(2) + "\n"});
  }
  report::write_output(out, files);
}

int run_plan_command(const PlanOptions& o) {
  ConfigDocument doc = ConfigDocument::load_file(o.path);
  for (const auto& s : o.sets) doc.apply_override(s);
  const plan::PlanSpec spec = plan::load_plan(doc);
  Progress clock("kvsim plan", 0, false);
  const plan::Screened screened = plan::screen_all(spec);
  if (const auto warnings = plan::layout_warnings(screened); o.strict && !warnings.empty()) {
    throw InputError(spec.file, "", fmt::format("--strict refuses the layouts' warnings: {}",
                                                fmt::join(warnings, "; ")));
  }
  if (!o.quiet) {
    fmt::print("kvsim plan: {} ({}), {} candidate layouts, target {:.4g} requests/s\n",
               spec.name, spec.file, screened.candidates.size(), spec.rate);
    print_pruned(screened, o.show);
    fmt::print("simulating {} layouts\n", screened.survivors.size());
  }
  Progress progress("kvsim plan", screened.survivors.size(), !o.quiet);
  const std::vector<Json> evaluations =
      plan::evaluate_all(spec, screened, [&](std::size_t done) { progress.update(done); });
  const plan::PlanReport r = plan::build_report(spec, screened, evaluations);
  for (const auto& w : r.warnings) fmt::print(stderr, "kvsim: warning: {}\n", w);
  if (!o.quiet) {
    print_ranked(r, o.show);
    fmt::print("rejected after simulation:\n");
    print_rejected(r, o.show);
    fmt::print("{} candidates in {:.2f} s\n", screened.candidates.size(),
               clock.elapsed_seconds());
  }
  if (!o.out.empty()) {
    write(spec, screened, r, o.out);
    if (!o.quiet) fmt::print("wrote plan.json, plan.csv, plan.md and pareto.csv to {}\n", o.out);
  }
  return 0;
}

}  // namespace

void add_plan(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "plan", "Capacity planning: the cheapest layouts serving a workload within its SLOs");
  auto o = std::make_shared<PlanOptions>();
  cmd->add_option("plan", o->path, "plan JSON file (see README: Capacity planning)")->required();
  cmd->add_option("--set", o->sets, "override a field of the plan file: /pointer=value")
      ->expected(1)
      ->take_all();
  cmd->add_option("--out", o->out,
                  "write plan.json, plan.csv, plan.md, pareto.csv and plan.scenario.json here");
  cmd->add_option("--show", o->show, "lines per section on the terminal")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000}));
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing but warnings and errors");
  add_strict_option(*cmd, o->strict);
  cmd->callback([&selected, o] { selected = [o] { return run_plan_command(*o); }; });
}

}  // namespace kvsim::cli
