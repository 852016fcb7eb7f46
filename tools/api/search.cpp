// kvsim search's computation (see api.hpp): KVR-S, KVR-E and TSP at the scenario's prefill
// point, the landscape when asked, and search.json.
#include <chrono>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/impl/synchronous.hpp"
#include "sim/prefill/two_level.hpp"
#include "sim/sweep/training.hpp"
#include "tools/api/api.hpp"

namespace kvsim::api {
namespace {

// Refuses, before anything is allocated, a granularity the context cannot hold and a landscape
// over the limit (its grid is counted, not enumerated).
void check_sizes(const SearchRequest& o, const std::string& file, std::int64_t context, int p) {
  const std::string why = prefill::search_obstacle(o.search, context, p);
  if (!why.empty()) throw InputError(file, "", "KVR-S: " + why);
  if (!(o.landscape_limit >= 1 && o.landscape_limit <= kMaxLandscape)) {
    throw InputError("--landscape-limit", "",
                     fmt::format("must be from 1 to {}, got {}", kMaxLandscape, o.landscape_limit));
  }
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

// The chain's length: GPUs, or TP groups under a two-level layout; refused when under 2.
int chain_length(const Scenario& s, const prefill::PrefillSetup& setup, int tp) {
  const int p = prefill::sequence_ranks(setup, tp);
  if (p >= 2) return p;
  throw InputError(s.file, "/prefill",
                   tp == 1 ? "kvsim search splits the context over a chain of GPUs; this prefill "
                             "runs on 1 GPU, which has nothing to split (give the cluster at "
                             "least 2 GPUs)"
                           : fmt::format("kvsim search splits the context over a chain of TP "
                                         "groups; this prefill has 1 group of {} GPUs, which "
                                         "has nothing to split (give the cluster at least {} "
                                         "GPUs)",
                                         tp, 2 * tp));
}

double ratio(Duration a, Duration b) {
  return static_cast<double>(a.count()) / static_cast<double>(b.count());
}

Json outcome_json(const SearchOutcome& x, const SearchRequest& o, const Json& kvr_options) {
  const prefill::SearchResult& r = x.search;
  return Json{{"scenario", x.scenario.name},
              {"context_tokens", x.scenario.prefill->context_tokens},
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
              {"warnings", x.scenario.warnings}};
}

}  // namespace

SearchOutcome search(const ConfigDocument& doc, const SearchRequest& o) {
  SearchOutcome x(read_scenario(doc, o.strict));
  const Scenario& s = x.scenario;
  if (!s.prefill) throw InputError(s.file, "/prefill", "kvsim search needs a \"prefill\" section");
  const prefill::PrefillSetup setup = s.prefill_setup();
  const prefill::KvrOptions options = sweep::kvr_options_of(s);
  x.processes = chain_length(s, setup, options.tp);
  const prefill::KvrStrategy kvr(prefill::make_search_partitioner(o.search), options);
  const prefill::PartitionQuery query = kvr.query(setup);
  check_sizes(o, s.file, setup.context_tokens, x.processes);

  const auto start = std::chrono::steady_clock::now();
  x.search = prefill::search_partition(query, o.search);
  if (!x.search.fits) {
    throw InputError(s.file, "/prefill", "KVR-S " + prefill::no_fit_message(x.search, query));
  }
  x.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  x.even = prefill::even_partition(setup.context_tokens, x.processes);
  x.even_ttft = kvr.evaluate(setup, x.even);
  x.even_fits = query.overflow(x.even).empty();
  x.tsp_ttft = prefill::TspStrategy(false, options.tp, false).run(setup, false).ttft;
  if (o.landscape) {
    for (const auto& g :
         prefill::grid_partitions(setup.context_tokens, x.processes, o.search.granularity)) {
      const bool fits = query.overflow(g).empty();
      x.landscape.push_back({g, fits ? query.evaluate(g) : Duration{0}, o.search.granularity,
                             fits, query.peak_bytes(g)});
    }
  }
  x.json = outcome_json(x, o, kvr.to_json());
  return x;
}

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

}  // namespace kvsim::api
