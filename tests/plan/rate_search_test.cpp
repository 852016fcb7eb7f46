// The rate search over the plan's rate grid: the same grid point whatever the first probe.
#include <cmath>

#include <gtest/gtest.h>

#include "sim/plan/rate_search.hpp"

namespace kvsim::plan {
namespace {

// A layout whose SLOs hold up to `limit` requests/s exactly (a monotone verdict).
Probe verdict(double rate, double limit) {
  Probe p;
  if (rate > limit) p.missed.push_back("over");
  p.summary = Json{{"rate", rate}};
  return p;
}

TEST(RateGrid, PointsAreTheTargetTimesOnePlusToleranceUpToTheBound) {
  // 10 x 1.1^k below 20: k = 0..7 (10 x 1.1^7 = 19.49, 10 x 1.1^8 = 21.44), then the bound.
  const RateGrid g(10, 0.1, 20);
  EXPECT_EQ(g.top(), 8u);
  EXPECT_DOUBLE_EQ(g.rate(0), 10);
  EXPECT_DOUBLE_EQ(g.rate(3), 10 * std::pow(1.1, 3));
  EXPECT_DOUBLE_EQ(g.rate(8), 20);
  EXPECT_EQ(g.index_at_or_below(13.32), 3u);  // 10 x 1.1^3 = 13.31 (13.310000000000004)
  EXPECT_EQ(g.index_at_or_below(5), 0u);
  EXPECT_EQ(g.index_at_or_below(1e9), 8u);
  EXPECT_EQ(RateGrid(10, 0.1, 10).top(), 0u);  // the target is the bound
}

TEST(RateSearch, FindsTheSameGridPointFromEveryFirstProbe) {
  const RateGrid g(10, 0.05, 1000);  // 95 points below the bound: 10 x 1.05^94 = 980.9
  for (const double limit : {10.2, 33.0, 512.0, 990.0, 5000.0}) {
    // The answer: the highest point at or below the limit (the bound when all points meet).
    const std::size_t expected = g.index_at_or_below(limit);
    for (std::size_t first = 1; first <= g.top(); ++first) {
      if (first == 1) {  // and without an estimate
        EXPECT_EQ(search_rate(g, doubling_start(g), verdict(10, limit),
                              [&](double rate) { return verdict(rate, limit); })
                      .lo,
                  expected);
      }
      const SearchResult r = search_rate(g, Start{first, 1, true}, verdict(10, limit),
                                         [&](double rate) { return verdict(rate, limit); });
      ASSERT_EQ(r.lo, expected) << "limit " << limit << ", first probe " << first;
      EXPECT_EQ(r.at_lo.summary["rate"].get<double>(), g.rate(expected));
      if (expected == g.top()) {
        EXPECT_FALSE(r.hi);
      } else {
        ASSERT_TRUE(r.hi);
        EXPECT_EQ(*r.hi, expected + 1);
        EXPECT_EQ(r.missed_at_hi, std::vector<std::string>{"over"});
      }
    }
  }
}

TEST(RateSearch, WithoutAnEstimateTheRateDoublesFromTheTargetThenBisects) {
  const RateGrid g(10, 0.05, 1000);
  EXPECT_EQ(g.doubling(), 14u);  // log 2 / log 1.05 = 14.2
  const double limit = 100;      // the answer: point 47 (10 x 1.05^47 = 98.9)
  std::vector<double> asked;
  const SearchResult r = search_rate(g, doubling_start(g), verdict(10, limit), [&](double rate) {
    asked.push_back(rate);
    return verdict(rate, limit);
  });
  EXPECT_EQ(r.lo, 47u);
  // Points 14, 28, 42 meet (19.8, 39.2, 77.6/s), 56 misses (153.5/s); bisection of (42, 56):
  // 49 misses, 45 meets, 47 meets, 48 misses.
  const std::vector<std::size_t> expected{14, 28, 42, 56, 49, 45, 47, 48};
  ASSERT_EQ(asked.size(), expected.size());
  for (std::size_t k = 0; k < expected.size(); ++k) EXPECT_EQ(asked[k], g.rate(expected[k]));
}

TEST(RateSearch, AFirstProbeOnTheAnswerCostsTwoProbes) {
  const RateGrid g(10, 0.05, 1000);
  const double limit = 100;
  const std::size_t answer = g.index_at_or_below(limit);  // 10 x 1.05^47 = 98.9
  int asked = 0;
  const SearchResult r = search_rate(g, estimated_start(g, 100), verdict(10, limit),
                                     [&](double rate) {
    ++asked;
    return verdict(rate, limit);
  });
  EXPECT_EQ(r.lo, answer);
  EXPECT_EQ(asked, 2);  // the answer meets, the next point misses
  EXPECT_EQ(r.probes, 2);
}

TEST(RateSearch, ATargetAtTheBoundNeedsNoProbe) {
  const RateGrid g(10, 0.05, 10);
  const SearchResult r = search_rate(g, doubling_start(g), verdict(10, 50), [](double) -> Probe {
    ADD_FAILURE() << "no probe expected";
    return {};
  });
  EXPECT_EQ(r.lo, 0u);
  EXPECT_FALSE(r.hi);
  EXPECT_EQ(r.probes, 0);
}

}  // namespace
}  // namespace kvsim::plan
