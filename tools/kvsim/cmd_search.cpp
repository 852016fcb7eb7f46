// `kvsim search SCENARIO`: KVR-S for the scenario's prefill point. Prints the partition found,
// its TTFT against KVR-E and TSP, and the search's cost; optionally writes the full search trace
// and, for small chains, the whole TTFT landscape on the grid (the paper's 2- and 3-GPU plots).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/progress.hpp"
#include "sim/prefill/search.hpp"
#include "sim/report/output.hpp"
#include "tools/api/api.hpp"
#include "tools/kvsim/scenario_loading.hpp"
#include "tools/kvsim/search_options.hpp"

namespace kvsim::cli {
namespace {

struct SearchCommandOptions {
  ScenarioOptions scenario;
  api::SearchRequest request;
  std::string out;
  bool quiet = false;
};

void print_outcome(const Scenario& s, const api::SearchOutcome& x) {
  const prefill::SearchResult& r = x.search;
  const std::size_t gpus = s.prefill->gpus.size();
  fmt::print("kvsim search: {} ({}), {} tokens on {}\n", s.name, s.file,
             s.prefill->context_tokens,
             gpus == r.best.size() ? fmt::format("{} GPUs", gpus)
                                   : fmt::format("{} TP groups of {} GPUs", r.best.size(),
                                                 gpus / r.best.size()));
  fmt::print("  KVR-S partition  {}{}\n", fmt::join(r.best, " "),
             x.even_won() ? fmt::format("  (the even split: no partition with cut points on "
                                        "multiples of {} tokens is faster)",
                                        r.granularity)
                          : "");
  std::vector<std::string> f;
  for (const double v : prefill::partition_fractions(r.best)) f.push_back(fmt::format("{:.4f}", v));
  fmt::print("        fractions  {}\n", fmt::join(f, " "));
  fmt::print("  TTFT  KVR-S {:.3f} ms   KVR-E {:.3f} ms ({:.3f}x{})   TSP {:.3f} ms ({:.3f}x)\n",
             to_ms(r.ttft), to_ms(x.even_ttft), x.json["speedup_over_kvr_even"].get<double>(),
             x.even_fits ? "" : ", does not fit in memory", to_ms(x.tsp_ttft),
             x.json["speedup_over_tsp"].get<double>());
  fmt::print("  cost  {} evaluations ({} on the coarse grid at {} tokens, refined to {}), "
             "{:.3f} s wall\n",
             r.evaluations.size(), r.coarse_points, r.coarse_step, r.granularity, x.wall_s);
  if (r.infeasible > 0) {
    fmt::print("  memory  {} candidates skipped: their plan does not fit in memory\n",
               r.infeasible);
  }
}

int search(const SearchCommandOptions& o) {
  api::SearchRequest request = o.request;
  request.strict = o.scenario.strict;
  Heartbeat beat("kvsim search", !o.quiet);  // on a terminal only
  const api::SearchOutcome x =
      api::search(api::read_document(o.scenario.path, o.scenario.overrides), request);
  beat.stop();
  const Scenario& s = x.scenario;
  print_warnings(s);
  if (!o.quiet) print_outcome(s, x);
  if (!o.out.empty()) {
    std::vector<report::OutputFile> files{
        {"search.json", x.json.dump(2) + "\n"},
        {"search_trace.csv", api::evaluations_csv(x.search.evaluations, x.processes)},
        {"scenario.resolved.json", s.resolved.dump(2) + "\n"}};
    if (request.landscape) {
      files.emplace_back("landscape.csv", api::evaluations_csv(x.landscape, x.processes));
    }
    report::write_output(o.out, files);
    if (!o.quiet) fmt::print("wrote {} files to {}\n", files.size(), o.out);
  }
  return 0;
}

}  // namespace

void add_search(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "search", "KVR-S: search the KV-Runahead partition that minimises TTFT for a scenario");
  auto o = std::make_shared<SearchCommandOptions>();
  add_scenario_options(*cmd, o->scenario);
  add_search_options(*cmd, o->request.search);
  cmd->add_option("--out", o->out, "write search.json, search_trace.csv (every candidate) and "
                                   "the resolved scenario to this directory");
  cmd->add_flag("--landscape", o->request.landscape,
                "also evaluate every partition on the grid and write landscape.csv (for 2 or 3 "
                "GPUs)");
  cmd->add_option("--landscape-limit", o->request.landscape_limit,
                  fmt::format("most grid points --landscape evaluates (each is kept in memory; "
                              "at most {})",
                              api::kMaxLandscape))
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, api::kMaxLandscape));
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  cmd->callback([&selected, o] { selected = [o] { return search(*o); }; });
}

}  // namespace kvsim::cli
