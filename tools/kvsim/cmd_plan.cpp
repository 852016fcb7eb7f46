// `kvsim plan PLAN`: the cheapest layouts that serve a workload within its SLOs. Screens every
// candidate layout of the plan's search space (printing what it pruned and why), finds each
// survivor's highest rate meeting the SLOs by serving simulations, and prints the ranked
// layouts and the cost-against-latency Pareto frontier; --out writes plan.json, plan.csv,
// plan.md, pareto.csv and plan.scenario.json (the best layout at the target rate, for
// `kvsim serve`). Output is the same for any thread count.
#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/random.hpp"
#include "sim/plan/report.hpp"
#include "sim/report/output.hpp"
#include "tools/kvsim/commands.hpp"
#include "tools/kvsim/merge.hpp"
#include "tools/kvsim/progress.hpp"
#include "tools/kvsim/scenario_loading.hpp"
#include "tools/kvsim/workers.hpp"

namespace kvsim::cli {
namespace {

struct PlanOptions {
  std::string path;
  std::vector<std::string> sets;
  std::string out;
  std::size_t show = 10;  // lines per section on the terminal
  bool quiet = false;
  bool strict = false;
  WorkerOptions workers;
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

// The header and what screening pruned, printed before anything is simulated.
void print_screening(const plan::PlanSpec& spec, const plan::Screened& screened, std::size_t show) {
  fmt::print("kvsim plan: {} ({}), {} candidate layouts, target {:.4g} requests/s\n", spec.name,
             spec.file, screened.candidates.size(), spec.rate);
  print_pruned(screened, show);
  fmt::print("simulating {} layouts\n", screened.survivors.size());
}

// The plan's input hash: the plan file with its overrides (a --shard run's and merge's must agree).
std::string plan_hash(const ConfigDocument& doc) {
  return distributed::hash_text(
      stable_hash(doc.json().dump(-1, ' ', false, Json::error_handler_t::replace)));
}

// Everything after the survivors' evaluations: the report on the terminal and in --out.
int finish_plan(const plan::PlanSpec& spec, const plan::Screened& screened,
                const std::vector<std::string>& results, const FinishOptions& o,
                std::size_t show) {
  const plan::PlanReport r =
      plan::build_report(spec, screened, plan::evaluations_from(screened, results));
  for (const auto& w : r.warnings) fmt::print(stderr, "kvsim: warning: {}\n", w);
  if (!o.quiet) {
    print_ranked(r, show);
    fmt::print("rejected after simulation:\n");
    print_rejected(r, show);
    std::size_t simulations = 0, reused = 0;
    for (const Json& v : r.json["candidates"]) {
      if (v.contains("simulations")) simulations += v["simulations"].get<std::size_t>();
      if (v.contains("same_result_as")) ++reused;
    }
    fmt::print("{} serving simulations; {} layouts took every simulation from an equivalent "
               "layout (same_result_as)\n", simulations, reused);
    fmt::print("{} candidates in {:.2f} s\n", screened.candidates.size(), o.wall_seconds);
  }
  if (!o.out.empty()) {
    write(spec, screened, r, o.out);
    if (!o.quiet) fmt::print("wrote plan.json, plan.csv, plan.md and pareto.csv to {}\n", o.out);
  }
  return 0;
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
  const bool talk = !o.quiet && speaks();  // under mpirun, rank 0 alone
  if (talk) print_screening(spec, screened, o.show);
  std::optional<Progress> progress;
  const auto report = [&](std::size_t done, std::size_t total) {
    if (!progress) progress.emplace("kvsim plan", total, talk);
    progress->update(done);
  };
  const distributed::Job job{"plan", job_input(o.path, o.sets), plan_hash(doc)};
  const auto results = evaluate_items(
      o.workers, job, o.out, screened.groups.size(),
      [&](std::size_t g) { return plan::evaluate_group(spec, screened, g); }, report);
  progress.reset();  // ends its line before the report
  if (!results) {
    if (talk && !o.workers.shard.empty()) {
      fmt::print("wrote shard {} to {}\n", o.workers.shard, o.out);
    }
    return 0;
  }
  return finish_plan(spec, screened, *results,
                     FinishOptions{o.out, o.quiet, clock.elapsed_seconds()}, o.show);
}

}  // namespace

int finish_merged_plan(const distributed::Partial& first, const std::vector<std::string>& results,
                       const FinishOptions& o) {
  const ConfigDocument doc = reload_document(first);
  if (plan_hash(doc) != first.job.input_hash) {
    throw InputError(doc.name(), "", fmt::format(
        "the plan changed since its shards ran: it hashes to {} now, {} to {}; run the shards "
        "again", plan_hash(doc), first.file, first.job.input_hash));
  }
  const plan::PlanSpec spec = plan::load_plan(doc);
  const plan::Screened screened = plan::screen_all(spec);  // deterministic: as the shards saw it
  if (results.size() != screened.groups.size()) {
    throw InputError(first.file, "/items", fmt::format(
        "{} evaluations, but the plan screens to {} groups of layouts to simulate",
        results.size(), screened.groups.size()));
  }
  const std::size_t show = 10;  // plan's --show default
  if (!o.quiet) print_screening(spec, screened, show);
  return finish_plan(spec, screened, results, o, show);
}

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
  add_worker_options(*cmd, o->workers);
  cmd->callback([&selected, o] { selected = [o] { return run_plan_command(*o); }; });
}

}  // namespace kvsim::cli
