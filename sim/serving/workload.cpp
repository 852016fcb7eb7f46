#include "sim/serving/workload.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "sim/core/table.hpp"

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

std::vector<TraceRow> read_trace(const ConfigNode& file_node) {
  const std::string path = file_node.resolve_path(file_node.as_string());
  const Table t = read_csv(path);
  const int a = t.column("arrived_at");
  const int p = t.column("num_prefill_tokens");
  const int d = t.column("num_decode_tokens");
  if (p < 0 || d < 0) {
    file_node.fail(fmt::format("trace '{}' needs columns num_prefill_tokens and "
                               "num_decode_tokens (and arrived_at for arrivals)",
                               path));
  }
  std::vector<TraceRow> rows;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto& row = t.rows[i];
    char* end = nullptr;
    TraceRow r{a >= 0 ? std::strtod(row[a].c_str(), &end) : 0.0,
               std::strtoll(row[p].c_str(), nullptr, 10), std::strtoll(row[d].c_str(), nullptr, 10)};
    if (r.prompt < 1 || r.output < 0 || !(r.arrival >= 0)) {
      file_node.fail(fmt::format("trace '{}' line {}: lengths must be positive and times "
                                 "non-negative",
                                 path, i + 2));
    }
    rows.push_back(r);
  }
  if (rows.empty()) file_node.fail(fmt::format("trace '{}' has no rows", path));
  return rows;
}

}  // namespace

struct Workload::Impl {
  std::string arrivals;
  double rate = 0;  // requests per second
  double cv = 1;    // gamma: coefficient of variation of the gaps
  std::string lengths;
  std::int64_t prompt_a = 0, prompt_b = 0, output_a = 0, output_b = 0;
  double prompt_sigma = 0, output_sigma = 0;
  std::vector<TraceRow> arrival_trace;
  std::vector<TraceRow> length_trace;
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
    } else if (lengths == "trace") {
      const TraceRow& r = length_trace[i % length_trace.size()];
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
  w.arrivals = a.one_of("type", {"poisson", "gamma", "fixed", "trace"});
  if (w.arrivals == "trace") {
    w.arrival_trace = read_trace(a.at("file"));
  } else {
    w.rate = a.at("rate").as_rate();
    if (!(w.rate > 0)) a.at("rate").fail("the arrival rate must be positive, e.g. \"4/s\"");
  }
  if (w.arrivals == "gamma") w.cv = a.number("cv", 1e-3, 1e3);
  a.finish();
  const ConfigNode l = n.at("lengths");
  w.lengths = l.one_of("type", {"fixed", "uniform", "lognormal", "trace"});
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
  } else if (l.has("file") || w.arrival_trace.empty()) {
    w.length_trace = read_trace(l.at("file"));
  } else {
    w.length_trace = w.arrival_trace;  // the lengths of the arrival trace's own requests
  }
  if (const auto cap = l.find("max_tokens")) w.max_context = std::min(w.max_context, cap->as_integer() + 1);
  l.finish();
  const std::uint64_t trace_rows = w.arrival_trace.size();
  total_ = static_cast<std::uint64_t>(n.count_or("requests", trace_rows > 0 ? static_cast<std::int64_t>(trace_rows) : 1000));
  if (trace_rows > 0 && total_ > trace_rows) {
    n.at("requests").fail(fmt::format("the arrival trace has only {} requests", trace_rows));
  }
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
  } else if (i > 0) {
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
