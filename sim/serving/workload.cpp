#include "sim/serving/workload.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "sim/core/table.hpp"
#include "sim/serving/arrival_times.hpp"

namespace kvsim::serving {
namespace {

double unit_uniform(RandomEngine& r) { return (static_cast<double>(r() >> 11) + 0.5) * 0x1.0p-53; }

// Standard normal by Box-Muller from our own uniforms (the same on every standard library).
double normal(RandomEngine& r) {
  return std::sqrt(-2 * std::log(unit_uniform(r))) * std::cos(2 * M_PI * unit_uniform(r));
}

// Gamma(shape k, scale 1) by Marsaglia and Tsang, from our own uniforms and normals.
double gamma(RandomEngine& r, double k) {
  if (k < 1) return gamma(r, k + 1) * std::pow(unit_uniform(r), 1 / k);
  const double d = k - 1.0 / 3;
  const double c = 1 / std::sqrt(9 * d);
  for (;;) {
    double x = normal(r);
    double v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const double u = unit_uniform(r);
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

struct TraceRow {
  double arrival;
  std::int64_t prompt;
  std::int64_t output;
};

// Rows of a CSV: arrival times (when `arrival_column` is given and present) and the two length
// columns.
std::vector<TraceRow> read_trace(const ConfigNode& file_node, const std::string& prompt_column,
                                 const std::string& output_column,
                                 const std::string& arrival_column) {
  const std::string path = file_node.resolve_path(file_node.as_string());
  const Table t = read_csv(path);
  const int a = arrival_column.empty() ? -1 : t.column(arrival_column);
  const int p = t.column(prompt_column);
  const int d = t.column(output_column);
  if (p < 0 || d < 0) {
    file_node.fail(fmt::format("'{}' needs columns {} and {}{}", path, prompt_column,
                               output_column,
                               arrival_column.empty() ? "" : " (and " + arrival_column +
                                                                 " for arrivals)"));
  }
  std::vector<TraceRow> rows;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto& row = t.rows[i];
    TraceRow r{a >= 0 ? std::strtod(row[a].c_str(), nullptr) : 0.0,
               std::strtoll(row[p].c_str(), nullptr, 10), std::strtoll(row[d].c_str(), nullptr, 10)};
    if (r.prompt < 1 || r.output < 0 || !(r.arrival >= 0)) {
      file_node.fail(fmt::format("'{}' line {}: lengths must be positive and times "
                                 "non-negative",
                                 path, i + 2));
    }
    rows.push_back(r);
  }
  if (rows.empty()) file_node.fail(fmt::format("'{}' has no rows", path));
  return rows;
}

std::vector<TraceRow> read_trace(const ConfigNode& file_node) {
  return read_trace(file_node, "num_prefill_tokens", "num_decode_tokens", "arrived_at");
}

// Zipf over lo..hi: P(k) proportional to (k - lo + 1)^-theta, drawn by inverse CDF.
struct Zipf {
  std::int64_t lo = 1;
  std::vector<double> cdf;
  Zipf() = default;
  Zipf(std::int64_t low, std::int64_t high, double theta) : lo(low) {
    double sum = 0;
    for (std::int64_t k = low; k <= high; ++k) {
      sum += std::pow(static_cast<double>(k - low + 1), -theta);
      cdf.push_back(sum);
    }
    for (double& c : cdf) c /= sum;
  }
  std::int64_t draw(RandomEngine& r) const {
    const double u = unit_uniform(r);
    const auto it = std::lower_bound(cdf.begin(), cdf.end(), u);
    return lo + std::min<std::int64_t>(it - cdf.begin(), static_cast<std::int64_t>(cdf.size()) - 1);
  }
};

}  // namespace

struct Workload::Impl {
  std::string arrivals;
  double rate = 0;  // requests per second
  double cv = 1;    // gamma: coefficient of variation of the gaps
  std::string lengths;
  std::int64_t prompt_a = 0, prompt_b = 0, output_a = 0, output_b = 0;
  double prompt_sigma = 0, output_sigma = 0;
  Zipf prompt_zipf, output_zipf;
  std::vector<TraceRow> arrival_trace;
  std::vector<double> arrival_times;  // "times": seconds, non-decreasing
  std::vector<TraceRow> length_trace;  // trace (in order) and empirical (drawn) lengths
  std::int64_t max_context = 0;
  RandomEngine arrival_random;
  RandomEngine length_random;
  std::uint64_t issued = 0;
  double clock = 0;  // seconds

  std::pair<std::int64_t, std::int64_t> draw_lengths(std::uint64_t i) {
    std::int64_t p = prompt_a;
    std::int64_t o = output_a;
    if (lengths == "uniform") {
      p = prompt_a + static_cast<std::int64_t>(unit_uniform(length_random) *
                                               static_cast<double>(prompt_b - prompt_a + 1));
      o = output_a + static_cast<std::int64_t>(unit_uniform(length_random) *
                                               static_cast<double>(output_b - output_a + 1));
    } else if (lengths == "lognormal") {
      p = std::llround(static_cast<double>(prompt_a) * std::exp(prompt_sigma * normal(length_random)));
      o = std::llround(static_cast<double>(output_a) * std::exp(output_sigma * normal(length_random)));
    } else if (lengths == "zipf") {
      p = prompt_zipf.draw(length_random);
      o = output_zipf.draw(length_random);
    } else if (lengths == "trace" || lengths == "list") {
      const TraceRow& r = length_trace[i % length_trace.size()];
      p = r.prompt;
      o = r.output;
    } else if (lengths == "empirical") {
      const TraceRow& r = length_trace[static_cast<std::size_t>(
          unit_uniform(length_random) * static_cast<double>(length_trace.size()))];
      p = r.prompt;
      o = r.output;
    }
    p = std::clamp<std::int64_t>(p, 1, max_context - 1);
    o = std::clamp<std::int64_t>(o, 1, max_context - p);
    return {p, o};
  }
};

Workload::Workload(const ConfigNode& n, const RandomStreams& random, std::int64_t max_context)
    : impl_(std::make_unique<Impl>()) {
  Impl& w = *impl_;
  w.max_context = max_context;
  w.arrival_random = random.stream("workload/arrivals");
  w.length_random = random.stream("workload/lengths");
  const ConfigNode a = n.at("arrivals");
  w.arrivals = a.one_of("type", {"poisson", "gamma", "fixed", "trace", "burst", "times"});
  if (w.arrivals == "trace") {
    w.arrival_trace = read_trace(a.at("file"));
  } else if (w.arrivals == "times") {
    w.arrival_times = read_arrival_times(a);
  } else if (w.arrivals != "burst") {
    w.rate = a.at("rate").as_rate();
    if (!(w.rate > 0)) a.at("rate").fail("the arrival rate must be positive, e.g. \"4/s\"");
  }
  if (w.arrivals == "gamma") w.cv = a.number("cv", 1e-3, 1e3);
  a.finish();
  const ConfigNode l = n.at("lengths");
  w.lengths =
      l.one_of("type", {"fixed", "uniform", "lognormal", "zipf", "trace", "empirical", "list"});
  if (w.lengths == "fixed") {
    w.prompt_a = l.count("prompt");
    w.output_a = l.count("output");
  } else if (w.lengths == "uniform") {
    w.prompt_a = l.count("prompt_min");
    w.prompt_b = l.count("prompt_max", w.prompt_a);
    w.output_a = l.count("output_min");
    w.output_b = l.count("output_max", w.output_a);
  } else if (w.lengths == "lognormal") {
    w.prompt_a = l.count("prompt_median");
    w.prompt_sigma = l.number("prompt_sigma", 0, 10);
    w.output_a = l.count("output_median");
    w.output_sigma = l.number("output_sigma", 0, 10);
  } else if (w.lengths == "zipf") {
    const auto read = [&](const std::string& what) {
      const std::int64_t lo = l.count(what + "_min");
      const std::int64_t hi = l.count(what + "_max", lo);
      if (hi - lo > 10'000'000) l.at(what + "_max").fail("a Zipf range of at most 10^7 values");
      return Zipf(lo, hi, l.number_or(what + "_theta", 1.0, 0, 10));
    };
    w.prompt_zipf = read("prompt");
    w.output_zipf = read("output");
  } else if (w.lengths == "list") {
    const auto prompts = l.at("prompts").elements();
    const auto outputs = l.at("outputs").elements();
    if (prompts.empty()) l.at("prompts").fail("give at least one prompt length");
    if (outputs.size() != prompts.size()) {
      l.at("outputs").fail(fmt::format("has {} entries but prompts has {}", outputs.size(),
                                       prompts.size()));
    }
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      const auto positive = [](const ConfigNode& v) {
        const std::int64_t x = v.as_integer();
        if (x < 1) v.fail("a length is a positive number of tokens");
        return x;
      };
      w.length_trace.push_back({0.0, positive(prompts[i]), positive(outputs[i])});
    }
  } else if (w.lengths == "empirical") {
    w.length_trace = read_trace(l.at("file"), l.string_or("prompt_column", "num_prefill_tokens"),
                                l.string_or("output_column", "num_decode_tokens"), "");
  } else if (l.has("file") || w.arrival_trace.empty()) {
    w.length_trace = read_trace(l.at("file"));
  } else {
    w.length_trace = w.arrival_trace;  // the lengths of the arrival trace's own requests
  }
  if (const auto cap = l.find("max_tokens")) w.max_context = std::min(w.max_context, cap->as_integer() + 1);
  l.finish();
  const std::uint64_t trace_rows =
      w.arrivals == "times" ? w.arrival_times.size() : w.arrival_trace.size();
  total_ = static_cast<std::uint64_t>(n.count_or("requests", trace_rows > 0 ? static_cast<std::int64_t>(trace_rows) : 1000));
  if (trace_rows > 0 && total_ > trace_rows) {
    n.at("requests").fail(fmt::format("the arrival trace has only {} requests", trace_rows));
  }
  if (n.has("max_concurrency")) max_concurrency_ = n.count("max_concurrency");
  n.finish();
  resolved_ = n.json();
}

Workload::~Workload() = default;
Workload::Workload(Workload&&) noexcept = default;

std::optional<Request> Workload::next() {
  Impl& w = *impl_;
  if (w.issued >= total_) return std::nullopt;
  const std::uint64_t i = w.issued++;
  if (w.arrivals == "trace") {
    w.clock = w.arrival_trace[i].arrival - w.arrival_trace[0].arrival;
  } else if (w.arrivals == "times") {
    w.clock = w.arrival_times[i];
  } else if (i > 0 && w.arrivals != "burst") {
    const double mean = 1 / w.rate;
    if (w.arrivals == "poisson") {
      w.clock += -std::log(unit_uniform(w.arrival_random)) * mean;
    } else if (w.arrivals == "gamma") {
      const double shape = 1 / (w.cv * w.cv);
      w.clock += gamma(w.arrival_random, shape) * mean / shape;
    } else {
      w.clock += mean;
    }
  }
  Request r;
  r.id = i;
  r.arrival = SimTime(from_seconds(w.clock));
  std::tie(r.prompt, r.output) = w.draw_lengths(i);
  return r;
}

}  // namespace kvsim::serving
