#include "sim/core/units.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

#include <fmt/format.h>

namespace kvsim {
namespace {

struct Unit {
  std::string_view name;
  double factor;
};

struct Split {
  double value;
  std::string_view unit;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits "12.5 GB/s" into 12.5 and "GB/s". `kind` and `example` only shape the error messages.
Split split_number(std::string_view text, std::string_view kind, std::string_view example) {
  const std::string_view s = trim(text);
  double value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end == s.data()) {
    throw UnitError(fmt::format("'{}' is not a {}: expected a number followed by a unit, e.g. "
                                "\"{}\"", text, kind, example));
  }
  if (!std::isfinite(value)) throw UnitError(fmt::format("'{}' is not finite", text));
  if (value < 0) throw UnitError(fmt::format("{} '{}' is negative", kind, text));
  return Split{value, trim(std::string_view(end, static_cast<std::size_t>(s.data() + s.size() - end)))};
}

// What a quantity is called in messages, an example, and the unit suggested for a bare number.
struct Kind {
  std::string_view name;
  std::string_view example;
  std::string_view suggested_unit;
};

constexpr Kind kDuration{"duration", "5us", "us"};
constexpr Kind kSize{"size", "80GiB", "GiB"};
constexpr Kind kBandwidth{"bandwidth", "300GB/s", "GB/s"};
constexpr Kind kFlopRate{"compute rate", "312TFLOP/s", "TFLOP/s"};
constexpr Kind kRate{"rate", "4/s", "/s"};

template <std::size_t N>
double parse_with(std::string_view text, const std::array<Unit, N>& units, const Kind& kind) {
  const Split split = split_number(text, kind.name, kind.example);
  std::string valid;
  for (const Unit& u : units) {
    if (u.name == split.unit) return split.value * u.factor;
    valid += valid.empty() ? "" : ", ";
    valid += u.name;
  }
  if (split.unit.empty()) {
    throw UnitError(fmt::format("a {} needs a unit: write e.g. \"{}{}\" rather than a bare "
                                "number (valid units: {})",
                                kind.name, split.value, kind.suggested_unit, valid));
  }
  throw UnitError(fmt::format("unknown {} unit '{}' in '{}' (valid units: {}; e.g. \"{}\")",
                              kind.name, split.unit, text, valid, kind.example));
}

constexpr std::array<Unit, 5> kDurationUnits{
    {{"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3}, {"s", 1.0}, {"min", 60.0}}};
constexpr std::array<Unit, 9> kSizeUnits{{{"B", 1.0},
                                          {"KB", 1e3},
                                          {"MB", 1e6},
                                          {"GB", 1e9},
                                          {"TB", 1e12},
                                          {"KiB", 1024.0},
                                          {"MiB", 1048576.0},
                                          {"GiB", 1073741824.0},
                                          {"TiB", 1099511627776.0}}};
constexpr std::array<Unit, 13> kBandwidthUnits{{{"B/s", 1.0},
                                                {"KB/s", 1e3},
                                                {"MB/s", 1e6},
                                                {"GB/s", 1e9},
                                                {"TB/s", 1e12},
                                                {"KiB/s", 1024.0},
                                                {"MiB/s", 1048576.0},
                                                {"GiB/s", 1073741824.0},
                                                {"Kb/s", 1e3 / 8},
                                                {"Mb/s", 1e6 / 8},
                                                {"Gb/s", 1e9 / 8},
                                                {"Tb/s", 1e12 / 8},
                                                {"Gbps", 1e9 / 8}}};
constexpr std::array<Unit, 10> kFlopUnits{{{"FLOP/s", 1.0},
                                           {"GFLOP/s", 1e9},
                                           {"TFLOP/s", 1e12},
                                           {"PFLOP/s", 1e15},
                                           {"GFLOPS", 1e9},
                                           {"TFLOPS", 1e12},
                                           {"PFLOPS", 1e15},
                                           {"TOP/s", 1e12},
                                           {"TOPS", 1e12},
                                           {"FLOPS", 1.0}}};
constexpr std::array<Unit, 5> kRateUnits{
    {{"/s", 1.0}, {"/ms", 1e3}, {"/min", 1.0 / 60}, {"/h", 1.0 / 3600}, {"/us", 1e6}}};

}  // namespace

double parse_duration(std::string_view text) { return parse_with(text, kDurationUnits, kDuration); }
double parse_bytes(std::string_view text) { return parse_with(text, kSizeUnits, kSize); }
double parse_bandwidth(std::string_view text) {
  return parse_with(text, kBandwidthUnits, kBandwidth);
}
double parse_flop_rate(std::string_view text) { return parse_with(text, kFlopUnits, kFlopRate); }
double parse_rate(std::string_view text) { return parse_with(text, kRateUnits, kRate); }

std::string format_bytes(double bytes) {
  constexpr std::array<std::pair<double, const char*>, 4> kSteps{
      {{1099511627776.0, "TiB"}, {1073741824.0, "GiB"}, {1048576.0, "MiB"}, {1024.0, "KiB"}}};
  for (const auto& [factor, name] : kSteps) {
    if (bytes >= factor) return fmt::format("{:.2f} {}", bytes / factor, name);
  }
  return fmt::format("{:.0f} B", bytes);
}

std::string format_bandwidth(double bytes_per_second) {
  if (bytes_per_second >= 1e12) return fmt::format("{:.3g} TB/s", bytes_per_second / 1e12);
  if (bytes_per_second >= 1e9) return fmt::format("{:.3g} GB/s", bytes_per_second / 1e9);
  return fmt::format("{:.3g} MB/s", bytes_per_second / 1e6);
}

}  // namespace kvsim
