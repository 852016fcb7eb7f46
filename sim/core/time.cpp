#include "sim/core/time.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace kvsim {
namespace {

// The largest number of seconds whose nanosecond count still fits an int64 (about 292 years).
constexpr double kMaxSeconds = 9.2e9;

void check_seconds(double seconds) {
  if (std::isnan(seconds)) throw std::domain_error("time is NaN");
  if (seconds < 0) throw std::domain_error(fmt::format("time is negative ({} s)", seconds));
  if (seconds > kMaxSeconds) throw std::domain_error(fmt::format("time {} s overflows", seconds));
}

}  // namespace

Duration from_seconds(double seconds) {
  check_seconds(seconds);
  return Duration(std::llround(seconds * 1e9));
}

Duration from_seconds_ceil(double seconds) {
  check_seconds(seconds);
  return Duration(static_cast<std::int64_t>(std::ceil(seconds * 1e9)));
}

std::string format_duration(Duration d) {
  const double ns = static_cast<double>(d.count());
  if (std::abs(ns) < 1e3) return fmt::format("{} ns", d.count());
  if (std::abs(ns) < 1e6) return fmt::format("{:.3f} us", ns * 1e-3);
  if (std::abs(ns) < 1e9) return fmt::format("{:.3f} ms", ns * 1e-6);
  return fmt::format("{:.3f} s", ns * 1e-9);
}

}  // namespace kvsim
