// LatencyHistogram: percentiles within the documented 2^-8 (0.39%) of the exact sample at the
// same rank, over many decades, without a transcendental per sample (metrics.hpp).
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "sim/serving/metrics.hpp"

namespace kvsim::serving {
namespace {

// The sample of rank ceil(q x n) (1-based) of `sorted`: what quantile(q) approximates.
double nearest_rank(const std::vector<double>& sorted, double q) {
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::max<std::size_t>(rank, 1) - 1];
}

}  // namespace

TEST(LatencyHistogram, QuantilesAreWithinTwoToTheMinusEightOfTheExactSample) {
  // Lognormal latencies spanning ~10 decades (median 10 ms, sigma 4: from about 1 us to a
  // day), and every quantile from 0.1% to 100%. The bound is the bucket's half width over its
  // lower edge: (2^e / 128) / 2 / 2^e = 2^-8.
  std::mt19937_64 rng(20);
  std::lognormal_distribution<double> draw(std::log(0.01), 4.0);
  for (const int n : {1, 7, 1000, 100'000}) {
    LatencyHistogram h;
    std::vector<double> samples;
    for (int i = 0; i < n; ++i) {
      const double x = std::max(draw(rng), 1e-7);
      samples.push_back(x);
      h.add(x);
    }
    std::sort(samples.begin(), samples.end());
    double worst = 0;
    for (int k = 1; k <= 1000; ++k) {
      const double q = k / 1000.0;
      const double exact = nearest_rank(samples, q);
      const double error = std::abs(h.quantile(q) - exact) / exact;
      worst = std::max(worst, error);
      ASSERT_LE(error, 1.0 / 256) << "n " << n << ", q " << q << ": " << h.quantile(q)
                                  << " against " << exact;
    }
    if (n >= 1000) {
      EXPECT_GT(worst, 1.0 / 1024) << "the bound is not vacuous";
    }
    EXPECT_LE(h.quantile(1.0), samples.back());  // capped at the largest sample
    EXPECT_EQ(h.count(), static_cast<std::uint64_t>(n));
  }
}

TEST(LatencyHistogram, ReportsABucketsMiddleCappedAtTheLargestSample) {
  // 1 s is the lower edge of the octave [1, 2): its bucket is [1, 1 + 1/128), middle
  // 1 + 1/256 = 1.00390625. A lone sample reports min(middle, max) = the sample itself.
  LatencyHistogram one;
  one.add(1.0);
  EXPECT_EQ(one.quantile(0.5), 1.0);
  LatencyHistogram two;
  two.add(1.0);
  two.add(1.5);
  EXPECT_EQ(two.quantile(0.5), 1.00390625);
  // 1.5 is the lower edge of bucket [1.5, 1.5 + 1/128): middle 1.50390625, capped at 1.5.
  EXPECT_EQ(two.quantile(1.0), 1.5);
  EXPECT_EQ(two.mean(), 1.25);
}

TEST(LatencyHistogram, ValuesBelowSixtyNanosecondsReportAsZero) {
  // Below 2^-24 s (59.6 ns) all values share bucket 0, reported as 0: zero queueing delays are
  // exact, and nothing there is off by more than 60 ns.
  LatencyHistogram h;
  for (int i = 0; i < 60; ++i) h.add(0.0);
  for (int i = 0; i < 40; ++i) h.add(2e-3);
  EXPECT_EQ(h.quantile(0.5), 0.0);
  EXPECT_EQ(h.quantile(0.59), 0.0);
  EXPECT_NEAR(h.quantile(0.61), 2e-3, 2e-3 / 256);
  EXPECT_NEAR(h.mean(), 0.4 * 2e-3, 1e-15);  // 40 x 2 ms / 100, summed in floating point
}

TEST(LatencyHistogram, EmptyHistogramHasNoStatistics) {
  const Json j = LatencyHistogram().to_json();
  EXPECT_TRUE(j["p50_s"].is_null());
  EXPECT_EQ(j["count"], 0);
}

TEST(LatencyHistogram, RefusesWhatIsNotALatency) {
  LatencyHistogram h;
  EXPECT_THROW(h.add(-1e-9), std::logic_error);
  EXPECT_THROW(h.add(std::nan("")), std::logic_error);
  EXPECT_THROW(h.add(INFINITY), std::logic_error);
  h.add(1e12);  // beyond 2^34 s: the last bucket, reported as the largest sample
  EXPECT_EQ(h.quantile(0.5), 1e12);
}

TEST(LatencyHistogram, AddRepeatedEqualsRepeatedAddsBitForBit) {
  // Serving adds a batch's equal inter-token gaps as one run: the statistics must be those of
  // one add per sample, to the last bit (the sums take the value n times, in order).
  std::mt19937_64 rng(3);
  LatencyHistogram runs;
  LatencyHistogram one_by_one;
  for (int step = 0; step < 20000; ++step) {
    const double gap = static_cast<double>(1 + rng() % 60'000'000) * 1e-9;  // up to 60 ms
    const std::uint64_t n = rng() % 130;  // 0 to 129 sequences
    runs.add_repeated(gap, n);
    for (std::uint64_t k = 0; k < n; ++k) one_by_one.add(gap);
  }
  ASSERT_GT(runs.count(), 1'000'000U);
  EXPECT_EQ(runs.count(), one_by_one.count());
  EXPECT_EQ(runs.to_json().dump(), one_by_one.to_json().dump());
  EXPECT_EQ(runs.stddev(), one_by_one.stddev());
  EXPECT_THROW(runs.add_repeated(-1e-9, 3), std::logic_error);
}

}  // namespace kvsim::serving
