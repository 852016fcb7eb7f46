#pragma once
// KVR-S: the partition search. Finds the p-1 cut points that minimise simulated TTFT.
//
// Cut points are multiples of `granularity` tokens below C (the last part takes the remainder),
// so the grid has floor((C-1)/g) positions for the p-1 cuts; a granularity leaving fewer is
// refused (search_obstacle names the coarsest that works), never silently shrunk.
//   1. Coarse grid: every composition of C at the smallest multiple of the granularity whose
//      grid has at most `coarse_candidates` points, evaluated exhaustively.
//   2. Multi-start refinement from the best `starts` coarse points and the even split snapped to
//      the grid: pattern search whose moves shift `step` tokens from one process to any other,
//      run to a local optimum, then the step halves (rounded to the granularity) down to the
//      granularity.
//   3. Off the grid, the exact even split (KVR-E) and any partitions the caller adds (KVR-P's,
//      when it is the comparison) are evaluated too, so the result is never slower than them.
//      These are the only results whose cut points may not be multiples of the granularity.
// Memory: a candidate whose plan overflows the query's capacity is infeasible. It is not
// simulated; it ranks after every feasible candidate, and infeasible ones rank by the bytes on
// their fullest GPU, so the coarse ranking and the refinement descend towards partitions that
// fit. The result is the fastest feasible candidate; where none fits, SearchResult::fits is
// false and no_fit_message says what the least-needing one needs.
// Candidates of each round are evaluated in parallel (oneTBB) and remembered, so no partition
// is simulated twice. Ties break towards the lexicographically smaller partition and rounds are
// merged in a fixed order: the result and the trace are identical for any thread count.
// Everything that sizes work or memory (coarse grid, starts, moves per round) is bounded before
// anything is allocated.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "sim/prefill/partitioner.hpp"

namespace kvsim::prefill {

struct SearchOptions {
  // Upper bounds on what a user may ask for: each candidate is simulated and kept in memory
  // (about 100 bytes plus 8 per process), so these keep a search within a few hundred MB.
  static constexpr std::int64_t kMaxCoarseCandidates = 1'000'000;
  static constexpr std::int64_t kMaxStarts = 256;
  static constexpr std::int64_t kMaxMovesPerRound = 100'000;

  std::int64_t granularity = 64;        // tokens; cut points are multiples of it
  std::int64_t coarse_candidates = 4096;  // most points of the coarse grid
  int starts = 4;                        // refinements started from the best coarse points

  static SearchOptions from_config(const ConfigNode& node);
  Json to_json() const;
};

/// One evaluated candidate, in evaluation order.
struct SearchEvaluation {
  Partition partition;
  Duration ttft{0};  // 0 where it does not fit (not simulated)
  // The grid step of the round that asked for it (coarse step first); 0 for candidates off the
  // grid (the even split, partitions the caller added).
  std::int64_t step = 0;
  bool fits = true;       // its memory plan fits the query's capacity
  double peak_bytes = 0;  // bytes on its fullest GPU (0 without a memory plan)
};

struct SearchResult {
  Partition best;
  Duration ttft{0};
  std::int64_t granularity = 0;  // the granularity used (always the one asked for)
  std::int64_t coarse_step = 0;
  std::size_t coarse_points = 0;
  std::vector<SearchEvaluation> evaluations;  // every candidate, in a deterministic order
  bool fits = true;            // false: no candidate fits; `best` is the one needing least
  std::size_t infeasible = 0;  // candidates skipped because their plan does not fit
};

/// Why a search whose result does not fit found nothing: how many candidates it tried, what
/// the least-needing one needs (memory_overflow) and what would fit. Phrased to follow "KVR-S ".
std::string no_fit_message(const SearchResult& result, const PartitionQuery& query);

/// The coarsest granularity whose grid has a position for each of the p-1 cuts below C:
/// floor((C-1)/(p-1)) tokens (C for one process, which has no cuts).
std::int64_t coarsest_granularity(std::int64_t context_tokens, int processes);

/// Why `options` cannot search C tokens over p processes (granularity too coarse, a limit
/// exceeded), phrased to follow "KVR-S: "; empty when they can.
std::string search_obstacle(const SearchOptions& options, std::int64_t context_tokens,
                            int processes);

/// Runs the search; `query.evaluate` is called concurrently and must be thread-safe. `also`:
/// partitions of C over p to evaluate beside the grid (the result is never slower than any
/// that fits). Check SearchResult::fits: a search where nothing fits still returns.
/// Throws std::invalid_argument where search_obstacle is not empty.
SearchResult search_partition(const PartitionQuery& query, const SearchOptions& options,
                              const std::vector<Partition>& also = {});

/// How many partitions have cut points on multiples of `granularity`: C(floor((C-1)/g), p-1),
/// saturating at 10^18. Computed without enumerating them.
std::uint64_t grid_size(std::int64_t context_tokens, int processes, std::int64_t granularity);

/// Every partition whose cut points are multiples of `granularity` (for tests and landscapes).
/// Check grid_size first: this holds them all in memory.
std::vector<Partition> grid_partitions(std::int64_t context_tokens, int processes,
                                       std::int64_t granularity);

/// The KVR-S partitioner: search_partition behind the partitioner interface. `file` and
/// `pointer` name its scenario entry, for the errors check() throws.
std::unique_ptr<Partitioner> make_search_partitioner(SearchOptions options, std::string file = "",
                                                     std::string pointer = "");

}  // namespace kvsim::prefill
