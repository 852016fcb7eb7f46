#pragma once
// Predicted against measured TTFT: what a CI pipeline runs to catch drift.
//
// Measured points come from kvsim's measurement JSON ("kind": "kvsim-ttft-measurements") or CSV
// (columns model, gpu, tp, batch, prompt_tokens, ttft_ms, optional tpot_ms and attention), or
// from the JSON that `vllm bench serve --save-result --save-detailed` writes (per-request
// input_lens and ttfts). Each point is predicted from the scenario with the point's model, GPU,
// attention and prompt length set: one GPU when tp is 1, the `tp` strategy over tp GPUs
// otherwise, a batch of equal prompts on one GPU when batch > 1.
//
// TTFT definitions differ between tools. kvsim predicts from the start of prefill to the first
// token produced; `fixed_overhead` (per request, e.g. tokenisation, scheduling, network) is added
// when the measurement counts from request arrival. With `queueing`, a `vllm bench serve` result
// is replayed through the serving simulation (the scenario's "serving" section: scheduler,
// memory, replicas) with the benchmark's requests in order and its arrival process (request
// rate and burstiness; all at once for an infinite rate), so each request's predicted TTFT
// includes the time it waited behind the others.
//
// A sweep may stand in for the scenario: the measured CSV then names each point by the sweep's
// input columns (their values as `kvsim sweep` prints them), an optional `strategy` column says
// which of the point's prefill strategies was measured (by label: "tsp", "kvr/search", ...),
// and `ttft_ms` gives the measurement. Each row is predicted by that strategy on that point.

#include <optional>
#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/sweep/sweep.hpp"

namespace kvsim::compare {

struct MeasuredPoint {
  std::string entry;  // where it came from: "file.json /points/3", "file.csv line 5"
  std::string model;  // catalog name; empty: the scenario's
  std::string gpu;    // catalog name; empty: the scenario's
  std::string attention;  // "fused", "eager" or empty (the scenario's)
  std::int64_t tp = 1;
  std::int64_t batch = 1;
  std::int64_t prompt_tokens = 0;
  double ttft_ms = 0;
  std::int64_t output_tokens = 0;  // 0: not recorded
  // Sweep measurements only: the point's settings (column, value) in the sweep's column order,
  // and the label of the strategy measured there.
  std::vector<std::pair<std::string, std::string>> settings;
  std::string strategy;
};

/// What identifies a point across runs (for --baseline): model, GPU, attention, TP, batch and
/// prompt length, or for a sweep point its settings and strategy.
std::string point_key(const MeasuredPoint& p);

/// How a benchmark client sent its requests (`vllm bench serve`), for replaying it.
struct BenchmarkRun {
  std::optional<double> request_rate;  // per second; 0: all at once ("inf"); none: not recorded
  double burstiness = 1;    // shape of the gamma-distributed gaps (1: Poisson)
  std::optional<std::int64_t> max_concurrency;  // a closed-loop client's limit
  std::size_t failed = 0;   // requests without a first token (left out of the points)
};

struct Measurements {
  std::string file;
  std::string ttft_from = "prefill";  // "prefill" (scheduling) or "arrival"
  std::vector<MeasuredPoint> points;
  std::optional<BenchmarkRun> run;    // per-request benchmark results only
};

/// Reads any supported format (detected from the content); throws InputError naming the entry.
Measurements read_measurements(const std::string& path);

/// Reads a CSV of measurements taken at the points of `sweep`: its columns, optional
/// `strategy`, `ttft_ms` and optional `tpot_ms`; throws InputError naming the file and line.
Measurements read_sweep_measurements(const std::string& path, const sweep::SweepSpec& sweep);

struct ComparedPoint {
  MeasuredPoint measured;
  double predicted_ms = 0;
  double error = 0;  // (predicted - measured) / measured
  Json provenance;   // share of the predicted compute time by provenance
};

/// The TTFT distributions side by side (what a serving team reads off a benchmark).
struct Distribution {
  double measured_mean = 0, predicted_mean = 0;
  double measured_p50 = 0, predicted_p50 = 0;
  double measured_p99 = 0, predicted_p99 = 0;
};

struct Aggregates {
  std::size_t points = 0;
  double mape = 0;           // mean absolute percentage error, as a fraction
  double median_ape = 0;
  double bias = 0;           // mean signed error
  double worst = 0;          // largest absolute error
  std::string worst_entry;
  Distribution distribution;  // ms
};

struct Comparison {
  std::vector<ComparedPoint> points;
  Aggregates aggregates;
  std::string method;  // how the points were predicted
};

struct CompareOptions {
  double fixed_overhead_ms = 0;  // added to every prediction of an arrival-based TTFT
  bool queueing = false;         // replay a benchmark through the serving simulation
  std::string strategy;          // sweeps: the strategy of rows without one; empty: the first
};

/// Predicts every point; throws InputError for points the scenario cannot express.
Comparison compare(const ConfigDocument& scenario, const Measurements& measured,
                   const CompareOptions& options);

/// Predicts every row of `measured` (read by read_sweep_measurements) with its strategy on its
/// sweep point, the points in parallel; throws InputError for rows that match no point or name
/// a strategy the point does not run.
Comparison compare_sweep(const sweep::SweepSpec& sweep, const Measurements& measured,
                         const CompareOptions& options);

/// Shares of a prefill's compute time (prompt tokens on a TP group of `tp`) by provenance:
/// measured, interpolated, extrapolated, roofline.
Json provenance_shares(const Scenario& s, std::int64_t tp, std::int64_t prompt_tokens);

Aggregates aggregate(const std::vector<ComparedPoint>& points);

struct Gates {
  std::optional<double> max_mape;         // fraction
  std::optional<double> max_point_error;  // fraction
  std::optional<Json> baseline;           // a previous compare JSON
  double regression_points = 0.01;        // absolute MAPE rise (fraction) ...
  double regression_relative = 0.10;      // ... and relative rise, both needed to alert
};

struct GateResult {
  bool passed = true;
  std::vector<std::string> failures;  // one line per failed gate, saying why
};

GateResult check_gates(const Comparison& c, const Gates& gates);

Json to_json(const Comparison& c, const GateResult& gates);
std::string to_markdown(const Comparison& c, const GateResult& gates);
std::string to_table(const Comparison& c);

}  // namespace kvsim::compare
