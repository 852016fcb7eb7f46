// `kvsim search SCENARIO`: KVR-S for the scenario's prefill point. Prints the partition found,
// its TTFT against KVR-E and TSP, and the search's cost; optionally writes the full search trace
// and, for small chains, the whole TTFT landscape on the grid (the paper's 2- and 3-GPU plots).
#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/two_level.hpp"
#include "sim/prefill/impl/synchronous.hpp"
#include "sim/prefill/search.hpp"
#include "sim/report/output.hpp"
#include "sim/sweep/training.hpp"
#include "sim/core/progress.hpp"
#include "tools/kvsim/scenario_loading.hpp"
#include "tools/kvsim/search_options.hpp"

namespace kvsim::cli {
namespace {

// The largest --landscape-limit: ten million points of about 150 bytes each (a few GB).
constexpr std::int64_t kMaxLandscape = 10'000'000;

struct SearchCommandOptions {
  ScenarioOptions scenario;
  prefill::SearchOptions search;
  std::string out;
  bool landscape = false;
  std::int64_t landscape_limit = 200000;
  bool quiet = false;
};

std::string evaluations_csv(const std::vector<prefill::SearchEvaluation>& rows, int p) {
  // fits: 0 for a candidate whose memory plan does not fit (skipped: not simulated, no TTFT).
  std::string out = "index,step,fits,ttft_ms";
  for (int i = 1; i <= p; ++i) out += fmt::format(",part_{}", i);
  for (int i = 1; i < p; ++i) out += fmt::format(",cut_{}", i);
  out += "\n";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    out += fmt::format("{},{},{:d},", r, rows[r].step, rows[r].fits);
    if (rows[r].fits) out += fmt::format("{:.6f}", to_ms(rows[r].ttft));
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

// Refuses, before anything is allocated, a granularity the context cannot hold and a landscape
// over --landscape-limit (its grid is counted, not enumerated).
void check_sizes(const SearchCommandOptions& o, const std::string& file, std::int64_t context,
                 int p) {
  const std::string why = prefill::search_obstacle(o.search, context, p);
  if (!why.empty()) throw InputError(file, "", "KVR-S: " + why);
  if (!o.landscape) return;
  const std::uint64_t points = prefill::grid_size(context, p, o.search.granularity);
  if (points > static_cast<std::uint64_t>(o.landscape_limit)) {
    throw InputError(
        file, "",
        fmt::format("the landscape of {} GPUs at {} tokens and granularity {} has {} grid "
                    "points, over --landscape-limit {}; use fewer GPUs or a coarser "
                    "--granularity, or raise --landscape-limit (up to {})",
                    p, context, o.search.granularity, points, o.landscape_limit, kMaxLandscape));
  }
}

// What one `kvsim search` found, with the baselines beside it.
struct Outcome {
  prefill::SearchResult search;
  prefill::Partition even;
  Duration even_ttft{0};
  bool even_fits = true;  // KVR-E's own plan fits in memory
  Duration tsp_ttft{0};
  double wall_s = 0;                                  // the search's wall-clock time
  std::vector<prefill::SearchEvaluation> landscape;  // with --landscape
  bool even_won() const { return search.best == even; }
};

double ratio(Duration a, Duration b) {
  return static_cast<double>(a.count()) / static_cast<double>(b.count());
}

Json outcome_json(const Scenario& s, const SearchCommandOptions& o, const Json& kvr_options,
                  const Outcome& x) {
  const prefill::SearchResult& r = x.search;
  return Json{{"scenario", s.name},
              {"context_tokens", s.prefill->context_tokens},
              {"processes", r.best.size()},
              {"search", o.search.to_json()},
              {"kvr_options", kvr_options},
              {"partition", r.best},
              {"fractions", prefill::partition_fractions(r.best)},
              {"ttft_ns", r.ttft.count()},
              {"kvr_even",
               {{"partition", x.even}, {"ttft_ns", x.even_ttft.count()}, {"fits", x.even_fits}}},
              {"tsp", {{"ttft_ns", x.tsp_ttft.count()}}},
              {"speedup_over_kvr_even", ratio(x.even_ttft, r.ttft)},
              {"speedup_over_tsp", ratio(x.tsp_ttft, r.ttft)},
              {"from", x.even_won() ? "the even split (no faster partition on the grid)"
                                    : "the granularity grid"},
              {"granularity", r.granularity},
              {"coarse_step", r.coarse_step},
              {"coarse_points", r.coarse_points},
              {"evaluations", r.evaluations.size()},
              {"skipped_not_fitting", r.infeasible},
              {"warnings", s.warnings}};
}

void print_outcome(const Scenario& s, const Outcome& x) {
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
             to_ms(r.ttft), to_ms(x.even_ttft), ratio(x.even_ttft, r.ttft),
             x.even_fits ? "" : ", does not fit in memory", to_ms(x.tsp_ttft),
             ratio(x.tsp_ttft, r.ttft));
  fmt::print("  cost  {} evaluations ({} on the coarse grid at {} tokens, refined to {}), "
             "{:.3f} s wall\n",
             r.evaluations.size(), r.coarse_points, r.coarse_step, r.granularity, x.wall_s);
  if (r.infeasible > 0) {
    fmt::print("  memory  {} candidates skipped: their plan does not fit in memory\n",
               r.infeasible);
  }
}

int search(const SearchCommandOptions& o) {
  const Scenario s = load(o.scenario);
  for (const auto& w : s.warnings) fmt::print(stderr, "kvsim: warning: {}\n", w);
  if (!s.prefill) {
    throw InputError(s.file, "/prefill", "kvsim search needs a \"prefill\" section");
  }
  const prefill::PrefillSetup setup = s.prefill_setup();
  const prefill::KvrOptions options = sweep::kvr_options_of(s);
  // Under a two-level layout (the scenario's kvr has "tp") the chain is of TP groups.
  const int p = prefill::sequence_ranks(setup, options.tp);
  if (p < 2) {
    throw InputError(s.file, "/prefill",
                     options.tp == 1
                         ? "kvsim search splits the context over a chain of GPUs; this prefill "
                           "runs on 1 GPU, which has nothing to split (give the cluster at least "
                           "2 GPUs)"
                         : fmt::format("kvsim search splits the context over a chain of TP "
                                       "groups; this prefill has 1 group of {} GPUs, which has "
                                       "nothing to split (give the cluster at least {} GPUs)",
                                       options.tp, 2 * options.tp));
  }
  const prefill::KvrStrategy kvr(prefill::make_search_partitioner(o.search), options);
  const prefill::PartitionQuery query = kvr.query(setup);
  check_sizes(o, s.file, setup.context_tokens, p);

  Outcome x;
  Heartbeat beat("kvsim search", !o.quiet);  // on a terminal only
  const auto start = std::chrono::steady_clock::now();
  x.search = prefill::search_partition(query, o.search);
  if (!x.search.fits) {
    throw InputError(s.file, "/prefill", "KVR-S " + prefill::no_fit_message(x.search, query));
  }
  x.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  x.even = prefill::even_partition(setup.context_tokens, p);
  x.even_ttft = kvr.evaluate(setup, x.even);
  x.even_fits = query.overflow(x.even).empty();
  x.tsp_ttft = prefill::TspStrategy(false, options.tp, false).run(setup, false).ttft;
  if (o.landscape) {
    for (const auto& g : prefill::grid_partitions(setup.context_tokens, p, o.search.granularity)) {
      const bool fits = query.overflow(g).empty();
      x.landscape.push_back({g, fits ? query.evaluate(g) : Duration{0}, o.search.granularity,
                             fits, query.peak_bytes(g)});
    }
  }
  beat.stop();
  if (!o.quiet) print_outcome(s, x);
  if (!o.out.empty()) {
    const Json out = outcome_json(s, o, kvr.to_json(), x);
    std::vector<report::OutputFile> files{
        {"search.json", out.dump(2) + "\n"},
        {"search_trace.csv", evaluations_csv(x.search.evaluations, p)},
        {"scenario.resolved.json", s.resolved.dump(2) + "\n"}};
    if (o.landscape) files.emplace_back("landscape.csv", evaluations_csv(x.landscape, p));
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
  cmd->add_option("--landscape-limit", o->landscape_limit,
                  fmt::format("most grid points --landscape evaluates (each is kept in memory; "
                              "at most {})",
                              kMaxLandscape))
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, kMaxLandscape));
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  cmd->callback([&selected, o] { selected = [o] { return search(*o); }; });
}

}  // namespace kvsim::cli
