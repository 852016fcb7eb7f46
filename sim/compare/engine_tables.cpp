// Splitwise's and TensorRT-LLM's published engine tables (the rules are in engine_tables.hpp).
#include "sim/compare/engine_tables.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/compare/csv_cells.hpp"
#include "sim/core/input_error.hpp"
#include "sim/core/statistics.hpp"

namespace kvsim::compare {
namespace {

const std::vector<std::string> kSplitwiseColumns{
    "model",     "hardware",    "prompt_size", "batch_size",     "token_size",
    "prompt_time", "token_time", "e2e_time",   "tensor_parallel"};
const std::vector<std::string> kTrtllmColumns{"model",        "gpu",           "precision",
                                              "tp",           "batch",         "input_tokens",
                                              "output_tokens", "ttft_ms",      "engine"};

void require_columns(const Table& t, const std::string& path,
                     const std::vector<std::string>& columns, const std::string& format) {
  for (const std::string& c : columns) {
    if (t.column(c) < 0) {
      throw InputError(path, "", fmt::format("missing column '{}': {} has columns {}", c, format,
                                             fmt::join(columns, ", ")));
    }
  }
}

// One run of a Splitwise configuration, ms, and the CSV line it is on.
struct Run {
  double prompt = 0, token = 0, e2e = 0;
  std::size_t line = 0;
};
struct Configuration {
  MeasuredPoint point;
  std::vector<Run> runs;
};

double spread(const std::vector<double>& v) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return (*hi - *lo) / median(v);
}

// A spread above kSpreadWarning, said once per metric.
void warn_spread(const MeasuredPoint& p, const char* metric, const std::vector<double>& v,
                 std::vector<std::string>& warnings) {
  if (v.size() < 2 || spread(v) <= kSpreadWarning) return;
  warnings.push_back(fmt::format(
      "{}: the {} runs' {} spread {:.1f}% ((max - min) / median, above {:.0f}%): compared at "
      "the median, {:.3f} ms; judge this point's error with that in mind",
      p.entry, v.size(), metric, 100 * spread(v), 100 * kSpreadWarning, median(v)));
}

// Runs that stopped early, having generated `generated` tokens each: said in a warning; when
// every run did, the point's TPOT is over the median run's tokens.
void report_early_stops(MeasuredPoint& p, const std::vector<double>& generated, bool all,
                        std::vector<std::string>& warnings) {
  const std::int64_t asked = p.output_tokens;
  if (all) p.output_tokens = std::max<std::int64_t>(2, std::llround(median(generated)));
  warnings.push_back(fmt::format(
      "{}: {} of {} runs stopped early (e2e_time more than 1% below prompt_time + (token_size "
      "- 1) x token_time; they generated {:.0f} to {:.0f} of {} tokens): {}",
      p.entry, generated.size(), p.repeats, *std::min_element(generated.begin(), generated.end()),
      *std::max_element(generated.begin(), generated.end()), asked,
      all ? fmt::format("every run did, so its TPOT is compared over the median run's {} tokens",
                        p.output_tokens)
          : std::string("its TPOT is the median of the runs that finished")));
}

// The point of a configuration: medians of its runs, its outliers reported (engine_tables.hpp).
MeasuredPoint summarise(const Configuration& c, const std::string& path,
                        std::vector<std::string>& warnings) {
  MeasuredPoint p = c.point;
  p.repeats = c.runs.size();
  p.entry = p.repeats == 1 ? fmt::format("{} line {}", path, c.runs.front().line)
                           : fmt::format("{} line {} (+{} repeats)", path, c.runs.front().line,
                                         p.repeats - 1);
  std::vector<double> ttft, tpot_finished, tpot_all, generated;
  const auto decode_steps = static_cast<double>(p.output_tokens - 1);
  for (const Run& r : c.runs) {
    ttft.push_back(r.prompt);
    tpot_all.push_back(r.token);
    // What generating every requested token at this run's own pace takes, ms.
    if (r.e2e >= 0.99 * (r.prompt + decode_steps * r.token)) {
      tpot_finished.push_back(r.token);
    } else {
      generated.push_back(1 + (r.e2e - r.prompt) / r.token);
    }
  }
  p.ttft_ms = median(ttft);
  warn_spread(p, "TTFT", ttft, warnings);
  if (p.output_tokens < 2) return p;  // one token: no decode to time
  if (!tpot_finished.empty()) {
    p.tpot_ms = median(tpot_finished);
    warn_spread(p, "TPOT", tpot_finished, warnings);
  } else {
    p.tpot_ms = median(tpot_all);
    warn_spread(p, "TPOT", tpot_all, warnings);
  }
  if (!generated.empty()) report_early_stops(p, generated, tpot_finished.empty(), warnings);
  return p;
}

// Row r (CSV line r + 2) of a Splitwise table, added to its configuration.
void add_splitwise_row(const Table& t, std::size_t r, const std::string& path,
                       std::vector<Configuration>& configurations,
                       std::map<std::tuple<std::string, std::string, std::int64_t, std::int64_t,
                                           std::int64_t, std::int64_t>,
                                std::size_t>& index) {
  const auto& row = t.rows[r];
  const std::string where = fmt::format("line {}", r + 2);
  auto cell = [&](const char* c) { return row[static_cast<std::size_t>(t.column(c))]; };
  MeasuredPoint p;
  p.model = cell("model");
  if (p.model.empty()) throw InputError(path, "", where + ": no model");
  p.gpu = catalog_gpu_name(cell("hardware"));
  p.precision = "fp16";
  p.engine = "splitwise";
  p.prompt_tokens = positive_integer(cell("prompt_size"), path, where, "prompt_size");
  p.batch = positive_integer(cell("batch_size"), path, where, "batch_size");
  p.output_tokens = positive_integer(cell("token_size"), path, where, "token_size");
  p.tp = positive_integer(cell("tensor_parallel"), path, where, "tensor_parallel");
  Run run{positive_number(cell("prompt_time"), path, where, "prompt_time"),
          positive_number(cell("token_time"), path, where, "token_time"),
          positive_number(cell("e2e_time"), path, where, "e2e_time"), r + 2};
  const auto key = std::tuple{p.model, p.gpu, p.prompt_tokens, p.batch, p.output_tokens, p.tp};
  auto it = index.find(key);
  if (it == index.end()) {
    it = index.emplace(key, configurations.size()).first;
    configurations.push_back({std::move(p), {}});
  }
  configurations[it->second].runs.push_back(run);
}

// TPOT (ms) of a TensorRT-LLM throughput row (engine_tables.hpp): the run's time is batch x
// output tokens at the measured rate; less the prefill, it is output_tokens - 1 decode steps.
double throughput_tpot(const MeasuredPoint& p, double rate, const std::string& path,
                       const std::string& where) {
  const double tokens = static_cast<double>(p.batch) * static_cast<double>(p.output_tokens);
  const double run_ms = 1e3 * tokens / rate;
  if (!(run_ms > p.ttft_ms)) {
    throw InputError(path, "", fmt::format(
        "{}: {:.0f} tokens at {} tokens/s take {:.3f} ms, not more than the ttft_ms of {}: "
        "the throughput cannot include the first token's prefill",
        where, tokens, rate, run_ms, p.ttft_ms));
  }
  return (run_ms - p.ttft_ms) / static_cast<double>(p.output_tokens - 1);
}

}  // namespace

bool is_splitwise_table(const Table& t) {
  return t.column("hardware") >= 0 && t.column("prompt_time") >= 0 && t.column("token_time") >= 0;
}

bool is_trtllm_table(const Table& t) {
  return t.column("input_tokens") >= 0 && t.column("engine") >= 0;
}

Measurements read_splitwise_table(const Table& t, const std::string& path) {
  require_columns(t, path, kSplitwiseColumns, "Splitwise's perf_model.csv");
  std::vector<Configuration> configurations;
  std::map<std::tuple<std::string, std::string, std::int64_t, std::int64_t, std::int64_t,
                      std::int64_t>,
           std::size_t>
      index;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    add_splitwise_row(t, r, path, configurations, index);
  }
  Measurements m;
  m.file = path;
  for (const Configuration& c : configurations) {
    m.points.push_back(summarise(c, path, m.warnings));
  }
  return m;
}

Measurements read_trtllm_table(const Table& t, const std::string& path) {
  require_columns(t, path, kTrtllmColumns, "a TensorRT-LLM table");
  const bool throughput = t.column("output_tokens_per_s") >= 0;
  Measurements m;
  m.file = path;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    const std::string where = fmt::format("line {}", r + 2);
    auto cell = [&](const char* c) { return row[static_cast<std::size_t>(t.column(c))]; };
    MeasuredPoint p;
    p.entry = fmt::format("{} {}", path, where);
    p.model = cell("model");
    if (p.model.empty()) throw InputError(path, "", where + ": no model");
    p.gpu = catalog_gpu_name(cell("gpu"));
    p.precision = precision_name(cell("precision"), path, where);
    p.engine = cell("engine");
    p.tp = positive_integer(cell("tp"), path, where, "tp");
    p.batch = positive_integer(cell("batch"), path, where, "batch");
    p.prompt_tokens = positive_integer(cell("input_tokens"), path, where, "input_tokens");
    p.output_tokens = positive_integer(cell("output_tokens"), path, where, "output_tokens");
    p.ttft_ms = positive_number(cell("ttft_ms"), path, where, "ttft_ms");
    if (throughput && !cell("output_tokens_per_s").empty() && p.output_tokens >= 2) {
      const double rate =
          positive_number(cell("output_tokens_per_s"), path, where, "output_tokens_per_s");
      p.tpot_ms = throughput_tpot(p, rate, path, where);
    }
    m.points.push_back(std::move(p));
  }
  return m;
}

}  // namespace kvsim::compare
