#include "sim/core/time.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"

namespace kvsim {
namespace {

// The largest number of seconds whose nanosecond count still fits an int64 (2^63 ns is
// 9.223e9 s, about 292 years; 9.2e9 s leaves room for rounding).
constexpr double kMaxSeconds = 9.2e9;

[[noreturn]] void overflow(std::string_view quantity, const std::string& amount) {
  throw InputError("", "", fmt::format("{} of {} is past the latest time kvsim can simulate "
                                       "(2^63 ns, about 292 years); check the inputs that set "
                                       "it (rates, counts, durations, sizes over bandwidths)",
                                       quantity, amount));
}

void check_seconds(double seconds, std::string_view quantity) {
  if (std::isnan(seconds)) throw std::domain_error("time is NaN");
  if (seconds < 0) throw std::domain_error(fmt::format("time is negative ({} s)", seconds));
  if (seconds > kMaxSeconds) overflow(quantity, fmt::format("{:.6g} s", seconds));
}

}  // namespace

Duration from_seconds(double seconds, std::string_view quantity) {
  check_seconds(seconds, quantity);
  return Duration(std::llround(seconds * 1e9));
}

Duration from_seconds_ceil(double seconds, std::string_view quantity) {
  check_seconds(seconds, quantity);
  return Duration(static_cast<std::int64_t>(std::ceil(seconds * 1e9)));
}

SimTime checked_add(SimTime time, Duration delay, std::string_view quantity) {
  if (delay.count() > 0 && time > kMaxSimTime - delay) {
    overflow(quantity, fmt::format("{} s after {} s", to_seconds(delay), to_seconds(time)));
  }
  return time + delay;
}

std::string format_duration(Duration d) {
  const double ns = static_cast<double>(d.count());
  if (std::abs(ns) < 1e3) return fmt::format("{} ns", d.count());
  if (std::abs(ns) < 1e6) return fmt::format("{:.3f} us", ns * 1e-3);
  if (std::abs(ns) < 1e9) return fmt::format("{:.3f} ms", ns * 1e-6);
  return fmt::format("{:.3f} s", ns * 1e-9);
}

}  // namespace kvsim
