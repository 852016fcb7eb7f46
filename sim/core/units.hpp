#pragma once
// Physical quantities written as strings with units ("300GB/s", "5us", "80GiB", "312TFLOP/s",
// "4/s"), parsed once at the input boundary into SI base units held in doubles. Code past the
// parser never sees a unit string.
//
// Each parser throws UnitError with a message that names the accepted units; the config reader
// adds the file and JSON pointer.

#include <stdexcept>
#include <string>
#include <string_view>

namespace kvsim {

class UnitError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Durations: ns, us, ms, s, min. Returns seconds.
double parse_duration(std::string_view text);
/// Sizes: B; KB, MB, GB, TB (powers of 1000); KiB, MiB, GiB, TiB (powers of 1024). Returns bytes.
double parse_bytes(std::string_view text);
/// Bandwidth: a size per second ("300GB/s", "25GiB/s") or bits per second ("200Gb/s", "100Gbps").
/// Returns bytes per second.
double parse_bandwidth(std::string_view text);
/// Compute rate: FLOP/s with an SI prefix ("312TFLOP/s", "19.5TFLOPS"). Returns FLOP per second.
double parse_flop_rate(std::string_view text);
/// Event rate: a count per time unit ("4/s", "120/min", "0.5/ms"). Returns events per second.
double parse_rate(std::string_view text);

/// Renders a byte count with an IEC unit ("1.50 GiB") and a bandwidth with an SI one ("300 GB/s").
std::string format_bytes(double bytes);
std::string format_bandwidth(double bytes_per_second);

}  // namespace kvsim
