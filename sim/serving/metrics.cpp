#include "sim/serving/metrics.hpp"

#include <cmath>

namespace kvsim::serving {
namespace {

constexpr double kGrowth = 1.01;        // bin width: 1%
constexpr double kSmallest = 1e-7;      // 100 ns: everything below shares bin 0
const double kLogGrowth = std::log(kGrowth);

}  // namespace

void LatencyHistogram::add(double seconds) {
  const double x = std::max(seconds, kSmallest);
  const auto bin = static_cast<std::size_t>(std::log(x / kSmallest) / kLogGrowth);
  if (bin >= bins_.size()) bins_.resize(bin + 1, 0);
  ++bins_[bin];
  ++count_;
  sum_ += seconds;
  max_ = std::max(max_, seconds);
}

double LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < bins_.size(); ++b) {
    seen += bins_[b];
    if (seen >= rank && bins_[b] > 0) {
      return std::min(max_, kSmallest * std::pow(kGrowth, static_cast<double>(b) + 0.5));
    }
  }
  return max_;
}

Json LatencyHistogram::to_json() const {
  return Json{{"mean_s", mean()},
              {"p50_s", quantile(0.5)},
              {"p90_s", quantile(0.9)},
              {"p99_s", quantile(0.99)},
              {"max_s", max_},
              {"count", count_}};
}

}  // namespace kvsim::serving
