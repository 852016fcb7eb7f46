#include "sim/prefill/search.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace kvsim::prefill {
namespace {

// C(n, k) as a double, saturating well above any candidate budget.
double binomial(std::int64_t n, std::int64_t k) {
  if (k < 0 || n < k) return 0;
  double out = 1;
  for (std::int64_t i = 1; i <= k; ++i) {
    out = out * static_cast<double>(n - k + i) / static_cast<double>(i);
    if (out > 1e18) return 1e18;
  }
  return out;
}

// An upper bound on the moves neighbours() makes for p processes: for each range of w
// processes and each of the p-w others, one move each way; sum over w of 2(p-w+1)(p-w).
double moves_per_round(int p) {
  double out = 0;
  for (int w = 1; w < p; ++w) out += 2.0 * (p - w + 1) * (p - w);
  return out;
}

// The most processes whose refinement rounds stay within SearchOptions::kMaxMovesPerRound.
int most_searchable_processes() {
  int p = 2;
  while (moves_per_round(p + 1) <= static_cast<double>(SearchOptions::kMaxMovesPerRound)) ++p;
  return p;
}

Partition from_cuts(const std::vector<std::int64_t>& cuts, std::int64_t context_tokens) {
  Partition out;
  std::int64_t previous = 0;
  for (const std::int64_t c : cuts) {
    out.push_back(c - previous);
    previous = c;
  }
  out.push_back(context_tokens - previous);
  return out;
}

// The even split with its cut points moved to the nearest multiple of the granularity.
Partition snapped_even(std::int64_t c, int p, std::int64_t g) {
  std::vector<std::int64_t> cuts;
  std::int64_t previous = 0;
  const std::int64_t last_cut = (c - 1) / g * g;
  for (int i = 1; i < p; ++i) {
    const double exact = static_cast<double>(c) * i / p;
    std::int64_t cut = std::llround(exact / static_cast<double>(g)) * g;
    const std::int64_t room = static_cast<std::int64_t>(p - 1 - i) * g;  // later cuts
    cut = std::clamp(cut, previous + g, last_cut - room);
    cuts.push_back(cut);
    previous = cut;
  }
  return from_cuts(cuts, c);
}

// The search's order: feasible candidates by TTFT, then infeasible ones by the bytes on their
// fullest GPU (towards fitting); ties towards the lexicographically smaller partition.
bool ranks_before(const SearchEvaluation& a, const SearchEvaluation& b) {
  if (a.fits != b.fits) return a.fits;
  if (a.fits && a.ttft != b.ttft) return a.ttft < b.ttft;
  if (!a.fits && a.peak_bytes != b.peak_bytes) return a.peak_bytes < b.peak_bytes;
  return a.partition < b.partition;
}

class Search {
 public:
  Search(const PartitionQuery& query, const SearchOptions& options)
      : query_(query), options_(options) {}

  SearchResult run(const std::vector<Partition>& also) {
    const std::int64_t c = query_.context_tokens;
    const int p = query_.processes;
    if (const std::string why = search_obstacle(options_, c, p); !why.empty()) {
      throw std::invalid_argument("KVR-S: " + why);
    }
    SearchResult out;
    if (p == 1) {
      evaluate({Partition{c}}, 0);
      return finish(std::move(out));
    }
    const std::int64_t g = options_.granularity;
    out.granularity = g;

    const std::int64_t step = coarse_step(c, p, g);
    out.coarse_step = step;
    const std::vector<Partition> coarse = grid_partitions(c, p, step);
    out.coarse_points = coarse.size();
    evaluate(coarse, step);

    // Starts: the best coarse points, then the even split.
    std::vector<Partition> ranked = coarse;
    std::sort(ranked.begin(), ranked.end(), [this](const Partition& a, const Partition& b) {
      return better(a, b);
    });
    std::vector<Partition> starts;
    for (const Partition& x : ranked) {
      if (static_cast<int>(starts.size()) >= options_.starts) break;
      starts.push_back(x);
    }
    const Partition even = snapped_even(c, p, g);
    if (std::find(starts.begin(), starts.end(), even) == starts.end()) starts.push_back(even);
    evaluate({even}, g);
    for (const Partition& start : starts) refine(start, step, g);
    // Off the grid: the exact even split and the caller's partitions, so that the result is
    // never slower than KVR-E (nor than what the caller compares it with).
    std::vector<Partition> off_grid{even_partition(c, p)};
    off_grid.insert(off_grid.end(), also.begin(), also.end());
    evaluate(off_grid, 0);
    return finish(std::move(out));
  }

 private:
  // The smallest multiple of g whose grid holds at most coarse_candidates points.
  // The grid size falls as m grows, and m_max (where the grid has exactly enough positions for
  // the cuts) holds one point, so a bisection over [1, m_max] finds it in O(log C) steps even
  // for contexts of billions of tokens (search_obstacle guarantees m_max >= 1).
  std::int64_t coarse_step(std::int64_t c, int p, std::int64_t g) const {
    const std::int64_t cuts = p - 1;
    const auto budget = static_cast<double>(std::max<std::int64_t>(1, options_.coarse_candidates));
    auto fits = [&](std::int64_t m) { return binomial((c - 1) / (m * g), cuts) <= budget; };
    std::int64_t lo = 1;
    std::int64_t hi = std::max<std::int64_t>(1, (c - 1) / (cuts * g));
    while (lo < hi) {
      const std::int64_t m = lo + (hi - lo) / 2;
      if (fits(m)) {
        hi = m;
      } else {
        lo = m + 1;
      }
    }
    return lo * g;
  }

  // Pattern search: move `step` tokens between any two processes while that improves, then
  // halve the step until it reaches the granularity.
  void refine(Partition current, std::int64_t step, std::int64_t g) {
    for (;;) {
      for (;;) {
        const std::vector<Partition> moves = neighbours(current, step, g);
        evaluate(moves, step);
        const Partition* best = &current;
        for (const Partition& x : moves) {
          if (better(x, *best)) best = &x;
        }
        if (best == &current) break;
        current = *best;
      }
      if (step <= g) return;
      step = std::max(g, step / 2 / g * g);
    }
  }

  // Moves of `step` tokens between one process and each process of a contiguous range (either
  // way). A range of one is a plain transfer. Wider ranges matter because TTFT is a maximum over
  // the chain: where several processes tie for the slowest, no single transfer lowers it, but
  // taking from all of them at once does.
  static std::vector<Partition> neighbours(const Partition& current, std::int64_t step,
                                           std::int64_t g) {
    const int p = static_cast<int>(current.size());
    auto floor = [&](int i) { return i + 1 == p ? std::int64_t{1} : g; };
    std::vector<Partition> out;
    for (int a = 0; a < p; ++a) {
      for (int b = a; b < p; ++b) {
        const auto width = static_cast<std::int64_t>(b - a + 1);
        for (int j = 0; j < p; ++j) {
          if (a <= j && j <= b) continue;
          // The range gives, j takes.
          bool ok = true;
          for (int i = a; i <= b; ++i) ok = ok && current[i] - step >= floor(i);
          if (ok) {
            Partition x = current;
            for (int i = a; i <= b; ++i) x[i] -= step;
            x[j] += width * step;
            out.push_back(std::move(x));
          }
          // j gives, the range takes.
          if (current[j] - width * step >= floor(j)) {
            Partition x = current;
            for (int i = a; i <= b; ++i) x[i] += step;
            x[j] -= width * step;
            out.push_back(std::move(x));
          }
        }
      }
    }
    return out;
  }

  bool better(const Partition& a, const Partition& b) const {
    return ranks_before(seen_.at(a), seen_.at(b));
  }

  // Evaluates the candidates not seen before, in parallel, and logs them in candidate order.
  // A candidate that does not fit in memory is not simulated.
  void evaluate(const std::vector<Partition>& candidates, std::int64_t step) {
    std::vector<const Partition*> fresh;
    std::set<const Partition*, bool (*)(const Partition*, const Partition*)> batch(
        [](const Partition* a, const Partition* b) { return *a < *b; });
    for (const Partition& x : candidates) {
      if (!seen_.contains(x) && batch.insert(&x).second) fresh.push_back(&x);
    }
    std::vector<SearchEvaluation> rows(fresh.size());
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, fresh.size()),
                      [&](const tbb::blocked_range<std::size_t>& r) {
                        for (std::size_t i = r.begin(); i != r.end(); ++i) {
                          rows[i] = assess(*fresh[i], step);
                        }
                      });
    for (SearchEvaluation& row : rows) {
      seen_.emplace(row.partition, row);
      log_.push_back(std::move(row));
    }
  }

  SearchEvaluation assess(const Partition& x, std::int64_t step) const {
    SearchEvaluation out{x, Duration{0}, step, query_.overflow(x).empty(), query_.peak_bytes(x)};
    if (out.fits) out.ttft = query_.evaluate(x);
    return out;
  }

  SearchResult finish(SearchResult out) {
    const auto best = std::min_element(log_.begin(), log_.end(), ranks_before);
    out.best = best->partition;
    out.ttft = best->ttft;
    out.fits = best->fits;
    out.infeasible = static_cast<std::size_t>(std::count_if(
        log_.begin(), log_.end(), [](const SearchEvaluation& e) { return !e.fits; }));
    out.evaluations = std::move(log_);
    return out;
  }

  const PartitionQuery& query_;
  SearchOptions options_;
  std::map<Partition, SearchEvaluation> seen_;
  std::vector<SearchEvaluation> log_;
};

class SearchPartitioner final : public Partitioner {
 public:
  SearchPartitioner(SearchOptions options, std::string file, std::string pointer)
      : options_(options), file_(std::move(file)), pointer_(std::move(pointer)) {}
  std::string name() const override { return "search"; }
  Partition partition(const PartitionQuery& q) const override {
    const SearchResult r = search_partition(q, options_);
    if (!r.fits) throw InputError(file_, pointer_, "KVR-S " + no_fit_message(r, q));
    return r.best;
  }
  std::vector<std::string> check(const PartitionQuery& q) const override {
    const std::string why = search_obstacle(options_, q.context_tokens, q.processes);
    if (!why.empty()) throw InputError(file_, pointer_, "KVR-S: " + why);
    return {};
  }
  Json to_json() const override {
    Json j = options_.to_json();
    j["type"] = "search";
    return j;
  }

 private:
  SearchOptions options_;
  std::string file_;
  std::string pointer_;
};

}  // namespace

SearchOptions SearchOptions::from_config(const ConfigNode& n) {
  SearchOptions o;
  o.granularity = n.count_or("granularity", o.granularity);
  o.coarse_candidates = n.count_or("coarse_candidates", o.coarse_candidates);
  if (o.coarse_candidates > kMaxCoarseCandidates) {
    n.at("coarse_candidates").fail(fmt::format(
        "must be at most {} (each candidate is simulated and kept in memory); a finer search "
        "comes from a smaller granularity or more starts",
        kMaxCoarseCandidates));
  }
  const std::int64_t starts = n.count_or("starts", o.starts);
  if (starts > kMaxStarts) {
    n.at("starts").fail(fmt::format("must be at most {} (refinements from the best coarse "
                                    "points)", kMaxStarts));
  }
  o.starts = static_cast<int>(starts);
  return o;
}

Json SearchOptions::to_json() const {
  return Json{{"granularity", granularity},
              {"coarse_candidates", coarse_candidates},
              {"starts", starts}};
}

std::int64_t coarsest_granularity(std::int64_t c, int p) {
  return p <= 1 ? c : (c - 1) / (p - 1);
}

std::string search_obstacle(const SearchOptions& o, std::int64_t c, int p) {
  if (p < 1 || c < p) {
    return fmt::format("a context of {} tokens cannot be split over {} processes", c, p);
  }
  if (o.granularity < 1 || o.coarse_candidates < 1 || o.starts < 1) {
    return "granularity, coarse candidates and starts must each be at least 1";
  }
  if (o.coarse_candidates > SearchOptions::kMaxCoarseCandidates ||
      o.starts > SearchOptions::kMaxStarts) {
    return fmt::format("at most {} coarse candidates and {} starts",
                       SearchOptions::kMaxCoarseCandidates, SearchOptions::kMaxStarts);
  }
  if (p > 1 && o.granularity > coarsest_granularity(c, p)) {
    return fmt::format(
        "granularity {} leaves {} cut positions (multiples of {} below {} tokens) for the {} "
        "cuts between {} processes; use a granularity of at most {} tokens",
        o.granularity, (c - 1) / o.granularity, o.granularity, c, p - 1, p,
        coarsest_granularity(c, p));
  }
  if (moves_per_round(p) > static_cast<double>(SearchOptions::kMaxMovesPerRound)) {
    return fmt::format(
        "a chain of {} processes needs up to {:.0f} candidates per refinement round, over the "
        "limit of {}; search at most {} processes, or use the even or predicted partitioner",
        p, moves_per_round(p), SearchOptions::kMaxMovesPerRound, most_searchable_processes());
  }
  return "";
}

std::uint64_t grid_size(std::int64_t c, int p, std::int64_t g) {
  if (p < 1 || g < 1) return 0;
  return static_cast<std::uint64_t>(binomial((c - 1) / g, p - 1));
}

std::vector<Partition> grid_partitions(std::int64_t c, int p, std::int64_t g) {
  std::vector<Partition> out;
  const std::int64_t positions = (c - 1) / g;  // cut k * g for k = 1..positions
  const int cuts = p - 1;
  if (positions < cuts) return out;
  std::vector<std::int64_t> k(static_cast<std::size_t>(cuts));
  for (int i = 0; i < cuts; ++i) k[i] = i + 1;
  std::vector<std::int64_t> tokens(static_cast<std::size_t>(cuts));
  for (;;) {
    for (int i = 0; i < cuts; ++i) tokens[i] = k[i] * g;
    out.push_back(from_cuts(tokens, c));
    int i = cuts - 1;
    while (i >= 0 && k[i] == positions - (cuts - 1 - i)) --i;
    if (i < 0) return out;
    ++k[i];
    for (int j = i + 1; j < cuts; ++j) k[j] = k[j - 1] + 1;
  }
}

std::string no_fit_message(const SearchResult& r, const PartitionQuery& q) {
  return fmt::format("found no partition that fits in memory: none of the {} it evaluated (the "
                     "even split among them) fits; the one needing least, {} tokens, {}",
                     r.evaluations.size(), fmt::join(r.best, "/"),
                     q.overflow(r.best));
}

SearchResult search_partition(const PartitionQuery& query, const SearchOptions& options,
                              const std::vector<Partition>& also) {
  return Search(query, options).run(also);
}

std::unique_ptr<Partitioner> make_search_partitioner(SearchOptions options, std::string file,
                                                     std::string pointer) {
  return std::make_unique<SearchPartitioner>(options, std::move(file), std::move(pointer));
}

}  // namespace kvsim::prefill
