#pragma once
// Streaming latency statistics: a histogram with logarithmic bins 1% wide, so percentiles are
// within 1% of the exact ones and memory does not grow with the number of requests.

#include <cstdint>
#include <vector>

#include "sim/core/config.hpp"

namespace kvsim::serving {

class LatencyHistogram {
 public:
  void add(double seconds);
  std::uint64_t count() const { return count_; }
  double mean() const { return count_ == 0 ? 0 : sum_ / static_cast<double>(count_); }
  /// The q-quantile (0 < q <= 1), the geometric middle of its bin.
  double quantile(double q) const;
  Json to_json() const;  // mean, p50, p90, p99, max in seconds

 private:
  std::vector<std::uint64_t> bins_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
  double max_ = 0;
};

}  // namespace kvsim::serving
