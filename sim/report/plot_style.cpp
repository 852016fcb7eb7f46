#include "sim/report/plot_style.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kvsim::report::style {
namespace {

struct Name {
  std::string_view key;
  std::string_view shown;
};

// The names BACKGROUND.md and the KV-Runahead paper use.
constexpr std::array kStrategies{
    Name{"tsp", "TSP"},          Name{"tp", "TP"},
    Name{"kvr", "KVR"},          Name{"kvr/even", "KVR-E"},
    Name{"kvr/search", "KVR-S"}, Name{"kvr/predicted", "KVR-P"},
    Name{"tp/ep", "TP+EP"},      Name{"tsp/ep", "TSP+EP"},
    Name{"kvr-e", "KVR-E"},      Name{"kvr-s", "KVR-S"},
    Name{"kvr-p", "KVR-P"},
};

// Whole metric names whose unit is not in the name.
constexpr std::array kMetrics{
    Name{"context", "context (tokens)"},
    Name{"gpus", "GPUs"},
    Name{"rate", "arrival rate (requests/s)"},
    Name{"speedup", "speed-up"},
    Name{"request_throughput", "request throughput (requests/s)"},
    Name{"output_throughput", "output throughput (tokens/s)"},
    Name{"goodput", "goodput (requests/s)"},
    Name{"kv_utilization", "KV utilisation"},
    Name{"gpu_busy_fraction", "GPU busy fraction"},
};

// Units a metric's name ends in.
constexpr std::array kUnits{
    Name{"ms", "ms"}, Name{"s", "s"},         Name{"us", "µs"},
    Name{"ns", "ns"}, Name{"bytes", "bytes"}, Name{"tokens", "tokens"},
};

// Words spelled differently on a figure.
constexpr std::array kWords{
    Name{"ttft", "TTFT"}, Name{"tpot", "TPOT"}, Name{"itl", "ITL"}, Name{"e2e", "end-to-end"},
    Name{"kv", "KV"},     Name{"gpu", "GPU"},   Name{"gpus", "GPUs"},
};

template <std::size_t N>
const Name* find(const std::array<Name, N>& names, std::string_view key) {
  const auto it =
      std::find_if(names.begin(), names.end(), [&](const Name& n) { return n.key == key; });
  return it == names.end() ? nullptr : &*it;
}

std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('_', start), text.size());
    if (end > start) words.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

// Ticks at m x 10^k for each multiplier in `steps`, from the last one at or below `lo` to the
// first one at or above `hi`, so that the axis ends on a labelled tick.
std::vector<double> decade_ticks(double lo, double hi, const std::vector<double>& steps) {
  std::vector<double> all;
  for (int k = static_cast<int>(std::floor(std::log10(lo))) - 1;
       k <= static_cast<int>(std::ceil(std::log10(hi))) + 1; ++k) {
    for (const double m : steps) all.push_back(m * std::pow(10.0, k));
  }
  std::sort(all.begin(), all.end());
  const auto first = std::upper_bound(all.begin(), all.end(), lo * 1.0001) - 1;
  const auto last = std::lower_bound(all.begin(), all.end(), hi / 1.0001);
  return {first, last + 1};
}

bool is_power_of_two(double v) {
  if (v < 1 || v != std::floor(v) || v > 9.007e15) return false;
  const auto n = static_cast<std::uint64_t>(v);
  return (n & (n - 1)) == 0;
}

// A tick as a person writes it: 0.05, 5000, 20,000, 1,000,000 (never 1e+06).
std::string tick_text(double t) {
  if (t < 1e4 || t != std::floor(t) || t > 1e15) return fmt::format("{:g}", t);
  std::string digits = fmt::format("{:.0f}", t);
  for (auto i = static_cast<std::ptrdiff_t>(digits.size()) - 3; i > 0; i -= 3) {
    digits.insert(static_cast<std::size_t>(i), ",");
  }
  return digits;
}

}  // namespace

std::string strategy_name(std::string_view key) {
  const Name* n = find(kStrategies, key);
  return std::string(n ? n->shown : key);
}

std::pair<std::string, std::string> split_column(std::string_view column) {
  const std::size_t dot = column.rfind('.');
  if (dot == std::string_view::npos) return {"", std::string(column)};
  return {std::string(column.substr(0, dot)), std::string(column.substr(dot + 1))};
}

std::string metric_label(std::string_view metric) {
  if (const Name* n = find(kMetrics, metric)) return std::string(n->shown);
  std::vector<std::string_view> words = words_of(metric);
  std::string unit;
  if (words.size() > 1) {
    if (const Name* u = find(kUnits, words.back())) {
      unit = fmt::format(" ({})", u->shown);
      words.pop_back();
    }
  }
  std::vector<std::string> shown;
  for (const std::string_view w : words) {
    const Name* n = find(kWords, w);
    shown.emplace_back(n ? n->shown : w);
  }
  return fmt::format("{}{}", fmt::join(shown, " "), unit);
}

std::string axis_label(std::string_view column) {
  const auto [strategy, metric] = split_column(column);
  if (strategy.empty() || strategy == "serve") return metric_label(metric);
  return strategy_name(strategy) + " " + metric_label(metric);
}

std::string shared_axis_label(const std::vector<std::string>& columns) {
  if (columns.empty()) return "";
  const std::string metric = split_column(columns.front()).second;
  for (const std::string& c : columns) {
    if (split_column(c).second != metric) return "";
  }
  return metric_label(metric);
}

std::vector<std::string> series_labels(const std::vector<std::string>& columns) {
  const bool shared = columns.size() > 1 && !shared_axis_label(columns).empty();
  std::vector<std::string> labels;
  for (const std::string& c : columns) {
    const std::string strategy = split_column(c).first;
    labels.push_back(shared && !strategy.empty() ? strategy_name(strategy) : axis_label(c));
  }
  return labels;
}

std::string preamble() {
  // Okabe & Ito (2008), "Color Universal Design"; yellow last, as it is faint on white.
  constexpr std::array<std::string_view, 8> colours{"#0072B2", "#D55E00", "#009E73",
                                                     "#CC79A7", "#E69F00", "#56B4E9",
                                                     "#000000", "#F0E442"};
  std::string out =
      "set encoding utf8\nset grid lc rgb '#d0d0d0'\n"
      "set key above center horizontal maxrows 3 spacing 1.1 width 2 "
      "noenhanced\n";
  for (std::size_t i = 0; i < colours.size(); ++i) {
    out += fmt::format("set linetype {} lc rgb '{}' lw 2 pt {} ps 1 dt {}\n", i + 1, colours[i],
                       std::array{7, 5, 9, 13, 11, 6, 4, 8}[i], i % 4 + 1);
  }
  return out + "set linetype cycle 8\n";
}

std::string heatmap_palette() {
  return "set palette defined (0 '#440154', 0.25 '#3B528B', 0.5 '#21908D', 0.75 '#5DC863', "
         "1 '#FDE725')\n";
}

std::string log_axis(std::string_view axis, const std::vector<double>& values) {
  if (values.empty()) return fmt::format("set logscale {}\n", axis);
  const auto [lo_it, hi_it] = std::minmax_element(values.begin(), values.end());
  const double lo = *lo_it;
  const double hi = *hi_it;
  std::vector<double> ticks;
  int base = 10;
  if (is_power_of_two(lo) && lo >= 2 &&
      std::all_of(values.begin(), values.end(), [](double v) { return v == std::floor(v); })) {
    base = 2;  // counts of tokens or GPUs starting at a power of two: 1024, 2048, ..., 16384
    for (double t = lo; t < hi * 2; t *= 2) ticks.push_back(t);
  } else {
    const double decades = std::log10(hi / lo);
    ticks = decade_ticks(lo, hi, decades > 4 ? std::vector<double>{1} : std::vector{1.0, 2.0, 5.0});
    if (ticks.size() < 4) ticks = decade_ticks(lo, hi, {1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9});
  }
  std::vector<std::string> tics;
  for (const double t : ticks) {
    const std::string text = base == 2 ? fmt::format("{:g}", t) : tick_text(t);
    tics.push_back(fmt::format("'{}' {:.17g}", text, t));
  }
  std::string out = fmt::format("set logscale {} {}\n", axis, base);
  if (ticks.size() >= 2) {
    // A hair beyond the end ticks: gnuplot drops a tick that rounds to just outside its range.
    out += fmt::format("set {}range [{:.10g}:{:.10g}]\nset {}tics ({})\n", axis,
                       ticks.front() * (1 - 1e-6), ticks.back() * (1 + 1e-6), axis,
                       fmt::join(tics, ", "));
  }
  return out;
}

}  // namespace kvsim::report::style
