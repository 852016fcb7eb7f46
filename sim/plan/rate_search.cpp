// The rate search over the plan's rate grid (see rate_search.hpp).
#include "sim/plan/rate_search.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace kvsim::plan {
namespace {

// An unbounded layout (no roofline limit) searches up to this multiple of the target.
constexpr double kUnboundedSpan = 1e6;

}  // namespace

RateGrid::RateGrid(double target, double tolerance, double bound)
    : target_(target), ratio_(1 + tolerance),
      bound_(std::isfinite(bound) ? bound : target * kUnboundedSpan) {
  if (!(target > 0) || !(tolerance > 0) || bound_ < target) {
    throw std::logic_error("RateGrid: needs 0 < target <= bound and a positive tolerance");
  }
  while (target_ * std::pow(ratio_, static_cast<double>(top_)) < bound_) ++top_;
}

double RateGrid::rate(std::size_t k) const {
  return k >= top_ ? bound_ : target_ * std::pow(ratio_, static_cast<double>(k));
}

std::size_t RateGrid::index_at_or_below(double r) const {
  std::size_t k = 0;
  while (k < top_ && rate(k + 1) <= r) ++k;
  return k;
}

std::size_t RateGrid::doubling() const {
  return std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(std::log(2.0) /
                                                                       std::log(ratio_))));
}

Start doubling_start(const RateGrid& grid) {
  return Start{grid.doubling(), grid.doubling(), false};
}

Start estimated_start(const RateGrid& grid, double rate) {
  return Start{grid.index_at_or_below(rate), 1, true};
}

SearchResult search_rate(const RateGrid& grid, const Start& start, Probe at_target,
                         const std::function<Probe(double rate)>& probe) {
  SearchResult r;
  r.at_lo = std::move(at_target);
  // Invariant: point lo meets; point hi misses (hi = top + 1 stands for "above the bound").
  std::size_t hi = grid.top() + 1;
  const auto ask = [&](std::size_t k) {
    Probe p = probe(grid.rate(k));
    ++r.probes;
    const bool met = p.meets();
    if (met) {
      r.lo = k;
      r.at_lo = std::move(p);
    } else {
      hi = k;
      r.missed_at_hi = std::move(p.missed);
    }
    return met;
  };
  if (grid.top() == 0) return r;  // the target is the bound
  // Growing steps go s, s, 2s, 4s, ...: an estimate is most often within a point or two.
  const auto steps = [&start](std::size_t k) {
    const std::size_t s = std::max<std::size_t>(start.step, 1);
    return start.growing && k > 2 ? s << std::min<std::size_t>(k - 2, 40) : s;
  };
  const std::size_t first = std::clamp<std::size_t>(start.first, 1, grid.top());
  if (ask(first)) {
    for (std::size_t k = 1; hi > r.lo + 1; ++k) {
      if (!ask(std::min(r.lo + steps(k), hi - 1))) break;
    }
  } else {
    for (std::size_t k = 1; hi > r.lo + 1; ++k) {
      if (ask(hi - std::min(steps(k), hi - r.lo - 1))) break;
    }
  }
  while (hi > r.lo + 1) ask(r.lo + (hi - r.lo) / 2);
  if (hi <= grid.top()) r.hi = hi;
  return r;
}

}  // namespace kvsim::plan
