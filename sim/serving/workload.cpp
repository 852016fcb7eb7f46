// The workload: reading its "arrivals" and "lengths" objects, and drawing its requests one
// at a time (see workload.hpp). Trace CSVs are read in workload_trace.cpp.
#include "sim/serving/workload.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "sim/scenario/sections.hpp"
#include "sim/serving/arrival_times.hpp"
#include "sim/serving/workload_trace.hpp"

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
  std::int64_t max_tokens = 0;  // truncate prompt + output to this (0: never)
  std::string length_origin;    // the CSV (trace, empirical) or the prompts array (list)
  std::string rate_pointer;     // for an error when arrivals outrun the clock
  RandomEngine arrival_random;
  RandomEngine length_random;
  std::uint64_t issued = 0;
  double clock = 0;  // seconds

  // Reading the "arrivals" and "lengths" objects (each checked, then finished).
  void read_arrivals(const ConfigNode& a);
  void read_lengths(const ConfigNode& l, const ConfigNode& a, std::int64_t max_context);
  void read_length_distribution(const ConfigNode& l);
  void read_length_rows(const ConfigNode& l, const ConfigNode& a);

  // A lognormal draw: median x e^(sigma z), rounded, at least 1 token and at most
  // kMaxRequestTokens (a draw that large is far past any context and is rejected as such).
  std::int64_t lognormal(std::int64_t median, double sigma) {
    const double x = static_cast<double>(median) * std::exp(sigma * normal(length_random));
    return std::llround(std::clamp(x, 1.0, static_cast<double>(kMaxRequestTokens)));
  }

  // The lengths of request i, and the trace row or list entry they came from (-1 if drawn).
  void draw_lengths(std::uint64_t i, Request& r) {
    r.prompt = prompt_a;
    r.output = output_a;
    const TraceRow* row = nullptr;
    if (lengths == "uniform") {
      r.prompt = prompt_a + static_cast<std::int64_t>(unit_uniform(length_random) *
                                                      static_cast<double>(prompt_b - prompt_a + 1));
      r.output = output_a + static_cast<std::int64_t>(unit_uniform(length_random) *
                                                      static_cast<double>(output_b - output_a + 1));
    } else if (lengths == "lognormal") {
      r.prompt = lognormal(prompt_a, prompt_sigma);
      r.output = lognormal(output_a, output_sigma);
    } else if (lengths == "zipf") {
      r.prompt = prompt_zipf.draw(length_random);
      r.output = output_zipf.draw(length_random);
    } else if (lengths == "trace" || lengths == "list") {
      row = &length_trace[i % length_trace.size()];
    } else if (lengths == "empirical") {
      row = &length_trace[static_cast<std::size_t>(unit_uniform(length_random) *
                                                   static_cast<double>(length_trace.size()))];
    }
    if (row != nullptr) {
      r.prompt = row->prompt;
      r.output = row->output;
      r.source = row - length_trace.data();
    }
    // Truncation only where asked for (Vidur's max_tokens): the prompt keeps at least one token
    // of room for the output.
    if (max_tokens > 0 && r.prompt + r.output > max_tokens) {
      r.prompt = std::min(r.prompt, max_tokens - 1);
      r.output = std::min(r.output, max_tokens - r.prompt);
      r.truncated = true;
    }
  }
};

namespace {

// A length: a whole number of tokens, bounded so that sums and block counts cannot overflow.
std::int64_t token_length(const ConfigNode& l, const std::string& key, std::int64_t min = 1) {
  const std::int64_t v = l.count(key, min);
  if (v > kMaxRequestTokens) {
    l.at(key).fail(fmt::format("at most {} tokens (kMaxRequestTokens in "
                               "sim/serving/workload.hpp), got {}",
                               kMaxRequestTokens, v));
  }
  return v;
}

// A length in a "list": a whole number of tokens from 1 to kMaxRequestTokens.
std::int64_t listed_length(const ConfigNode& v) {
  const std::int64_t x = v.as_integer();
  if (x < 1 || x > kMaxRequestTokens) {
    v.fail(fmt::format("a length is a whole number of tokens from 1 to {}", kMaxRequestTokens));
  }
  return x;
}

}  // namespace

void Workload::Impl::read_arrivals(const ConfigNode& a) {
  arrivals = a.one_of("type", workload_types("arrivals"));  // sim/scenario/sections.cpp
  if (arrivals == "trace") {
    arrival_trace = read_trace(a.at("file"));
  } else if (arrivals == "times") {
    arrival_times = read_arrival_times(a);
  } else if (arrivals != "burst") {
    rate_pointer = a.at("rate").pointer();
    rate = a.at("rate").as_rate();
    if (!(rate > 0)) a.at("rate").fail("the arrival rate must be positive, e.g. \"4/s\"");
  }
  if (arrivals == "gamma") cv = a.number("cv", 1e-3, 1e3);
  a.finish();
}

// Lengths drawn from a distribution: "fixed", "uniform", "lognormal" or "zipf".
void Workload::Impl::read_length_distribution(const ConfigNode& l) {
  if (lengths == "fixed") {
    prompt_a = token_length(l, "prompt");
    output_a = token_length(l, "output");
  } else if (lengths == "uniform") {
    prompt_a = token_length(l, "prompt_min");
    prompt_b = token_length(l, "prompt_max", prompt_a);
    output_a = token_length(l, "output_min");
    output_b = token_length(l, "output_max", output_a);
  } else if (lengths == "lognormal") {
    prompt_a = token_length(l, "prompt_median");
    prompt_sigma = l.number("prompt_sigma", 0, 10);
    output_a = token_length(l, "output_median");
    output_sigma = l.number("output_sigma", 0, 10);
  } else if (lengths == "zipf") {
    const auto read = [&l](const std::string& what) {
      const std::int64_t lo = token_length(l, what + "_min");
      const std::int64_t hi = token_length(l, what + "_max", lo);
      if (hi - lo > 10'000'000) l.at(what + "_max").fail("a Zipf range of at most 10^7 values");
      return Zipf(lo, hi, l.number_or(what + "_theta", 1.0, 0, 10));
    };
    prompt_zipf = read("prompt");
    output_zipf = read("output");
  }
}

// Lengths given row by row: a "list", an "empirical" CSV, or a "trace" (its own file or, with
// none, the arrival trace's requests).
void Workload::Impl::read_length_rows(const ConfigNode& l, const ConfigNode& a) {
  if (lengths == "list") {
    const auto prompts = l.at("prompts").elements();
    const auto outputs = l.at("outputs").elements();
    if (prompts.empty()) l.at("prompts").fail("give at least one prompt length");
    if (outputs.size() != prompts.size()) {
      l.at("outputs").fail(fmt::format("has {} entries but prompts has {}", outputs.size(),
                                       prompts.size()));
    }
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      length_trace.push_back({0.0, listed_length(prompts[i]), listed_length(outputs[i])});
    }
    length_origin = l.at("prompts").pointer();
  } else if (lengths == "empirical") {
    length_trace = read_trace(l.at("file"), l.string_or("prompt_column", "num_prefill_tokens"),
                              l.string_or("output_column", "num_decode_tokens"), "");
    length_origin = l.at("file").resolve_path(l.at("file").as_string());
  } else if (l.has("file") || arrival_trace.empty()) {
    length_trace = read_trace(l.at("file"));
    length_origin = l.at("file").resolve_path(l.at("file").as_string());
  } else {
    length_trace = arrival_trace;  // the lengths of the arrival trace's own requests
    length_origin = a.at("file").resolve_path(a.at("file").as_string());
  }
}

void Workload::Impl::read_lengths(const ConfigNode& l, const ConfigNode& a,
                                  std::int64_t max_context) {
  lengths = l.one_of("type", workload_types("lengths"));  // sim/scenario/sections.cpp
  if (lengths == "fixed" || lengths == "uniform" || lengths == "lognormal" || lengths == "zipf") {
    read_length_distribution(l);
  } else {
    read_length_rows(l, a);
  }
  if (l.has("max_tokens")) {
    // At least a one-token prompt and a one-token output; at most the model's context, beyond
    // which requests are rejected, not truncated.
    max_tokens = l.count("max_tokens", 2);
    if (max_tokens > max_context) {
      l.at("max_tokens").fail(fmt::format("at most the model's context, {} tokens, got {}",
                                          max_context, max_tokens));
    }
  }
  l.finish();
}

Workload::Workload(const ConfigNode& n, const RandomStreams& random, std::int64_t max_context)
    : impl_(std::make_unique<Impl>()) {
  Impl& w = *impl_;
  file_ = n.file();
  w.arrival_random = random.stream("workload/arrivals");
  w.length_random = random.stream("workload/lengths");
  const ConfigNode a = n.at("arrivals");
  w.read_arrivals(a);
  const ConfigNode l = n.at("lengths");
  lengths_pointer_ = l.pointer();
  w.read_lengths(l, a, max_context);
  read_count(n);
  if (n.has("max_concurrency")) max_concurrency_ = n.count("max_concurrency");
  n.finish();
  resolved_ = n.json();
}

// How many requests: "requests", or by default the arrival trace's (or times') rows, else 1,000.
void Workload::read_count(const ConfigNode& n) {
  const Impl& w = *impl_;
  const std::uint64_t trace_rows =
      w.arrivals == "times" ? w.arrival_times.size() : w.arrival_trace.size();
  const std::int64_t requests =
      n.count_or("requests", trace_rows > 0 ? static_cast<std::int64_t>(trace_rows) : 1000);
  if (requests > kMaxRequests) {
    n.at("requests").fail(fmt::format("at most {} requests in one run (kMaxRequests in "
                                      "sim/serving/workload.hpp), got {}; split the run",
                                      kMaxRequests, requests));
  }
  total_ = static_cast<std::uint64_t>(requests);
  if (trace_rows > 0 && total_ > trace_rows) {
    n.at("requests").fail(fmt::format("the arrival trace has only {} requests", trace_rows));
  }
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
  if (w.clock > kMaxArrivalSeconds) {
    throw InputError(file_, w.rate_pointer,
                     fmt::format("request {} would arrive after {:.3g} s, past the {:g} s a run "
                                 "may span (kMaxArrivalSeconds in sim/serving/workload.hpp); "
                                 "raise the rate or lower the number of requests",
                                 i, w.clock, kMaxArrivalSeconds));
  }
  Request r;
  r.id = i;
  r.arrival = SimTime(from_seconds(w.clock));
  w.draw_lengths(i, r);
  return r;
}

std::int64_t Workload::max_tokens() const { return impl_->max_tokens; }

std::string Workload::describe(const Request& r) const {
  const Impl& w = *impl_;
  if (r.source < 0) return fmt::format("request {}", r.id);
  if (w.lengths == "list") return fmt::format("request {} ({}/{})", r.id, w.length_origin, r.source);
  // CSV line: the header is line 1.
  return fmt::format("request {} (line {} of '{}')", r.id, r.source + 2, w.length_origin);
}

}  // namespace kvsim::serving
