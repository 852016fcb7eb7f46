// `kvsim search SCENARIO`: KVR-S for the scenario's prefill point. Prints the partition found,
// its TTFT against KVR-E and TSP, and the search's cost; optionally writes the full search trace
// and, for small chains, the whole TTFT landscape on the grid (the paper's 2- and 3-GPU plots).
#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/impl/synchronous.hpp"
#include "sim/prefill/search.hpp"
#include "sim/report/output.hpp"
#include "sim/sweep/training.hpp"
#include "tools/kvsim/scenario_loading.hpp"
#include "tools/kvsim/search_options.hpp"

namespace kvsim::cli {
namespace {

struct SearchCommandOptions {
  ScenarioOptions scenario;
  prefill::SearchOptions search;
  std::string out;
  bool landscape = false;
  std::int64_t landscape_limit = 200000;
  bool quiet = false;
};

std::string evaluations_csv(const std::vector<prefill::SearchEvaluation>& rows, int p) {
  std::string out = "index,step,ttft_ms";
  for (int i = 1; i <= p; ++i) out += fmt::format(",part_{}", i);
  for (int i = 1; i < p; ++i) out += fmt::format(",cut_{}", i);
  out += "\n";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    out += fmt::format("{},{},{:.6f}", r, rows[r].step, to_ms(rows[r].ttft));
    std::int64_t cut = 0;
    for (const std::int64_t c : rows[r].partition) out += fmt::format(",{}", c);
    for (int i = 0; i + 1 < p; ++i) {
      cut += rows[r].partition[i];
      out += fmt::format(",{}", cut);
    }
    out += "\n";
  }
  return out;
}

int search(const SearchCommandOptions& o) {
  const Scenario s = load(o.scenario);
  for (const auto& w : s.warnings) fmt::print(stderr, "kvsim: warning: {}\n", w);
  if (!s.prefill) {
    throw InputError(s.file, "/prefill", "kvsim search needs a \"prefill\" section");
  }
  const prefill::PrefillSetup setup = s.prefill_setup();
  const int p = static_cast<int>(setup.gpus.size());
  const prefill::KvrStrategy kvr(prefill::make_search_partitioner(o.search), sweep::kvr_options_of(s));
  const prefill::PartitionQuery query = kvr.query(setup);

  const auto start = std::chrono::steady_clock::now();
  const prefill::SearchResult r = prefill::search_partition(query, o.search);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string overflow =
      prefill::memory_overflow(prefill::kvr_memory_plan(setup, r.best), s.memory_capacity());
  if (!overflow.empty()) throw InputError(s.file, "/prefill", "the KVR-S partition " + overflow);
  const prefill::Partition even = prefill::even_partition(setup.context_tokens, p);
  const Duration even_ttft = kvr.evaluate(setup, even);
  const Duration tsp_ttft = prefill::TspStrategy(false).run(setup, false).ttft;

  std::vector<prefill::SearchEvaluation> landscape;
  if (o.landscape) {
    const auto grid = prefill::grid_partitions(setup.context_tokens, p, r.granularity);
    if (static_cast<std::int64_t>(grid.size()) > o.landscape_limit) {
      throw InputError(s.file, "/prefill",
                       fmt::format("the landscape of {} GPUs at {} tokens has {} grid points, "
                                   "over --landscape-limit {}; use fewer GPUs or a coarser "
                                   "--granularity",
                                   p, setup.context_tokens, grid.size(), o.landscape_limit));
    }
    for (const auto& x : grid) landscape.push_back({x, query.evaluate(x), r.granularity});
  }

  auto ratio = [](Duration a, Duration b) {
    return static_cast<double>(a.count()) / static_cast<double>(b.count());
  };
  Json out{{"scenario", s.name},
           {"warnings", s.warnings},
           {"context_tokens", setup.context_tokens},
           {"processes", p},
           {"search", o.search.to_json()},
           {"kvr_options", kvr.to_json()},
           {"partition", r.best},
           {"fractions", prefill::partition_fractions(r.best)},
           {"ttft_ns", r.ttft.count()},
           {"kvr_even", {{"partition", even}, {"ttft_ns", even_ttft.count()}}},
           {"tsp", {{"ttft_ns", tsp_ttft.count()}}},
           {"speedup_over_kvr_even", ratio(even_ttft, r.ttft)},
           {"speedup_over_tsp", ratio(tsp_ttft, r.ttft)},
           {"granularity", r.granularity},
           {"coarse_step", r.coarse_step},
           {"coarse_points", r.coarse_points},
           {"evaluations", r.evaluations.size()}};

  if (!o.quiet) {
    fmt::print("kvsim search: {} ({}), {} tokens on {} GPUs\n", s.name, s.file,
               setup.context_tokens, p);
    fmt::print("  KVR-S partition  {}\n", fmt::join(r.best, " "));
    std::vector<std::string> f;
    for (const auto& v : out["fractions"]) f.push_back(fmt::format("{:.4f}", v.get<double>()));
    fmt::print("        fractions  {}\n", fmt::join(f, " "));
    fmt::print("  TTFT  KVR-S {:.3f} ms   KVR-E {:.3f} ms ({:.3f}x)   TSP {:.3f} ms ({:.3f}x)\n",
               to_ms(r.ttft), to_ms(even_ttft), ratio(even_ttft, r.ttft), to_ms(tsp_ttft),
               ratio(tsp_ttft, r.ttft));
    fmt::print("  cost  {} evaluations ({} on the coarse grid at {} tokens, refined to {}), "
               "{:.3f} s wall\n",
               r.evaluations.size(), r.coarse_points, r.coarse_step, r.granularity, wall);
  }
  if (!o.out.empty()) {
    std::vector<report::OutputFile> files{{"search.json", out.dump(2) + "\n"},
                                          {"search_trace.csv", evaluations_csv(r.evaluations, p)},
                                          {"scenario.resolved.json", s.resolved.dump(2) + "\n"}};
    if (o.landscape) files.emplace_back("landscape.csv", evaluations_csv(landscape, p));
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
  add_search_options(*cmd, o->search);
  cmd->add_option("--out", o->out, "write search.json, search_trace.csv (every candidate) and "
                                   "the resolved scenario to this directory");
  cmd->add_flag("--landscape", o->landscape, "also evaluate every partition on the grid and "
                                             "write landscape.csv (for 2 or 3 GPUs)");
  cmd->add_option("--landscape-limit", o->landscape_limit, "most grid points --landscape "
                                                           "evaluates")
      ->capture_default_str();
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  cmd->callback([&selected, o] { selected = [o] { return search(*o); }; });
}

}  // namespace kvsim::cli
