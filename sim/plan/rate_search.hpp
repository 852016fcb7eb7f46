#pragma once
// The rate search of one layout: the highest rate on the plan's rate grid at which it meets the
// SLOs, by serving simulations (each a `Probe`).
//
// The grid: p_k = target x (1 + rate_tolerance)^k for k = 0, 1, ... while below the layout's
// analytic bound, then the bound itself as the last point p_top. The answer is the highest
// point that meets the SLOs with the next point missing them (or none: the bound), so lo and hi
// are simulated rates with hi / lo <= 1 + rate_tolerance. Meeting the SLOs is assumed to fall
// with the rate (common random numbers make this hold in practice); under it the answer is one
// grid point, whatever order the points are probed in, so where the search starts changes its
// cost and never its answer.
//
// The search: the target p_0 is known to meet (the caller simulated it). The first probe is at
// `Start::first`; from it the search gallops away in steps of `Start::step` points (up while the
// probes meet, down while they miss; steps s, s, 2s, 4s, ... when `growing`) until the
// answer is bracketed, then bisects the bracket's indices. Without an estimate: first = step =
// the points in a doubling of the rate, not growing (the rate doubles from the target until it
// misses, then bisection). With an estimate: first = its point, steps 1, 1, 2, 4, ...; a first
// probe on the answer costs two simulations, a guess g points off about 2 log2(g) more.
//
// Who calls it: evaluation.cpp, once per feasible layout. Pure: the same probes give the same
// search.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/config.hpp"

namespace kvsim::plan {

/// One serving simulation's verdict at a rate.
struct Probe {
  std::vector<std::string> missed;  // the SLOs missed; empty: all met
  Json summary;                     // the serving summary (or {"stopped": why})
  bool meets() const { return missed.empty(); }
};

/// The rates a layout's search may probe (requests/s).
class RateGrid {
 public:
  /// target <= bound; tolerance > 0.
  RateGrid(double target, double tolerance, double bound);
  /// Point k (0 <= k <= top()): target x (1 + tolerance)^k, the bound for k = top().
  double rate(std::size_t k) const;
  std::size_t top() const { return top_; }
  /// The highest point at or below `rate` (0 below the target, top() above the bound).
  std::size_t index_at_or_below(double rate) const;
  /// Points in a doubling of the rate: log 2 / log(1 + tolerance), rounded, at least 1.
  std::size_t doubling() const;

 private:
  double target_, ratio_, bound_;
  std::size_t top_ = 0;
};

struct SearchResult {
  std::size_t lo = 0;                // the answer's point index
  std::optional<std::size_t> hi;     // the lowest point known to miss; none: lo is the bound
  Probe at_lo;
  std::vector<std::string> missed_at_hi;
  int probes = 0;                    // probes asked for (the target's not counted)
};

/// Where the search starts, and how it steps away from there.
struct Start {
  std::size_t first = 1;  // clamped to [1, top]
  std::size_t step = 1;   // at least 1
  bool growing = true;    // steps s, s, 2s, 4s, ...
};

/// The start without an estimate: doubling the rate from the target.
Start doubling_start(const RateGrid& grid);
/// The start at an estimated rate.
Start estimated_start(const RateGrid& grid, double rate);

/// Searches `grid` from `start` given the target's meeting probe.
SearchResult search_rate(const RateGrid& grid, const Start& start, Probe at_target,
                         const std::function<Probe(double rate)>& probe);

}  // namespace kvsim::plan
