#pragma once
// KVR-S: the partition search. Finds the p-1 cut points that minimise simulated TTFT.
//
// Cut points live on a grid of `granularity` tokens (the last part takes the remainder).
//   1. Coarse grid: every composition of C at the smallest multiple of the granularity whose
//      grid has at most `coarse_candidates` points, evaluated exhaustively.
//   2. Multi-start refinement from the best `starts` coarse points and the even split: pattern
//      search whose moves shift `step` tokens from one process to any other, run to a local
//      optimum, then the step halves (rounded to the granularity) down to the granularity.
// Candidates of each round are evaluated in parallel (oneTBB) and remembered, so no partition
// is simulated twice. Ties break towards the lexicographically smaller partition and rounds are
// merged in a fixed order: the result and the trace are identical for any thread count.

#include <chrono>
#include <cstddef>
#include <vector>

#include "sim/prefill/partitioner.hpp"

namespace kvsim::prefill {

struct SearchOptions {
  std::int64_t granularity = 64;        // tokens; cut points are multiples of it
  std::int64_t coarse_candidates = 4096;  // most points of the coarse grid
  int starts = 4;                        // refinements started from the best coarse points

  static SearchOptions from_config(const ConfigNode& node);
  Json to_json() const;
};

/// One evaluated candidate, in evaluation order.
struct SearchEvaluation {
  Partition partition;
  Duration ttft{0};
  std::int64_t step = 0;  // the grid step of the round that asked for it (coarse step first)
};

struct SearchResult {
  Partition best;
  Duration ttft{0};
  std::int64_t granularity = 0;  // the granularity used (smaller than asked when C is short)
  std::int64_t coarse_step = 0;
  std::size_t coarse_points = 0;
  std::vector<SearchEvaluation> evaluations;  // every candidate, in a deterministic order
};

/// Runs the search; `query.evaluate` is called concurrently and must be thread-safe.
SearchResult search_partition(const PartitionQuery& query, const SearchOptions& options);

/// Every partition whose cut points are multiples of `granularity` (for tests and landscapes).
std::vector<Partition> grid_partitions(std::int64_t context_tokens, int processes,
                                       std::int64_t granularity);

/// The KVR-S partitioner: search_partition behind the partitioner interface.
std::unique_ptr<Partitioner> make_search_partitioner(SearchOptions options);

}  // namespace kvsim::prefill
