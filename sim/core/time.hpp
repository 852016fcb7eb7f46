#pragma once
// Simulated time: an integer count of nanoseconds.
//
// Everything in sim/ keeps time as `Duration` (a span) or `SimTime` (a point, measured from the
// start of the simulation). Cost models compute in double seconds and convert exactly once, at
// their boundary, through `from_seconds` (rounds to the nearest nanosecond) or
// `from_seconds_ceil` (rounds up: used where a transfer must not finish early). Both reject NaN
// and negative values (std::domain_error: a bug) and times past kMaxSimTime (an InputError: the
// inputs ask for more than about 292 years of simulated time) instead of silently wrapping.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace kvsim {

using Duration = std::chrono::duration<std::int64_t, std::nano>;
using SimTime = Duration;  // time since the start of the simulation

/// The latest representable simulated time: 2^63 - 1 ns, about 292 years.
inline constexpr SimTime kMaxSimTime = SimTime::max();

/// Converts seconds to a Duration, rounding to the nearest nanosecond. Throws std::domain_error
/// for NaN or negative values and InputError naming `quantity` past kMaxSimTime.
Duration from_seconds(double seconds, std::string_view quantity = "a simulated time");

/// Converts seconds to a Duration, rounding up to the next whole nanosecond.
Duration from_seconds_ceil(double seconds, std::string_view quantity = "a simulated time");

/// `time + delay`, or an InputError naming `quantity` when it would pass kMaxSimTime (where
/// plain chrono arithmetic would wrap around to a negative time).
SimTime checked_add(SimTime time, Duration delay, std::string_view quantity);

/// Converts a Duration to double seconds (for reporting and for cost arithmetic).
constexpr double to_seconds(Duration d) { return static_cast<double>(d.count()) * 1e-9; }

/// Milliseconds as a double, for human-facing reports.
constexpr double to_ms(Duration d) { return static_cast<double>(d.count()) * 1e-6; }

/// Microseconds as a double (the unit of Chrome trace events).
constexpr double to_us(Duration d) { return static_cast<double>(d.count()) * 1e-3; }

/// "12.345 ms"-style rendering with a unit chosen for readability.
std::string format_duration(Duration d);

}  // namespace kvsim
