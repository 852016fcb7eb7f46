#pragma once
// Predicted against measured latencies: what a CI pipeline runs to catch drift.
//
// Measured points come from the files measurements.hpp reads. Each kvsim point (a row of a CSV,
// a published engine table or kvsim's JSON) is predicted from the scenario with the point's
// model, GPU, attention, precision (weights, activations and KV cache) and prompt length set.
// TTFT is the prefill of the whole batch: batch 1 by the prefill strategy (one GPU when tp is 1,
// the `tp` strategy over tp GPUs otherwise); a batch on one GPU by the serving iteration that
// prefills all of its prompts; a batch on a TP group, or any PP, by the first iteration of a
// static batch served on the row's tp x pp GPUs. TPOT (rows that measured it) is the mean
// decode iteration of that static batch of `batch` equal requests from prompt_tokens to
// prompt_tokens + output_tokens - 1: the serving simulation `kvsim serve` runs (IterationCost,
// TP all-reduces, PP stages, the scenario's engine), with host_overhead 0. A row the scenario
// cannot express (unknown model or GPU, tp not dividing the heads, more GPUs than the
// topology, a batch that does not fit) is an InputError naming the row. One scenario serves
// rows of one GPU: a row's gpu replaces the scenario's, and a calibrated profile measured on
// another GPU is refused (naming the row), so rows of several GPUs are compared one GPU at a
// time (select with --where gpu=NAME; scenarios/engines/ has one scenario per GPU).
//
// Each request of a `vllm bench serve` result is predicted on the scenario's serving
// layout ("serving": replicas, tensor_parallel, pipeline_parallel, scheduler, memory): alone on
// an idle server, or with `queueing` replayed with the others as the benchmark sent them (its
// start_times exactly when it recorded them; else its request rate and burstiness; a
// closed-loop client with at most max_concurrency requests in flight), so each request's
// predicted TTFT includes the time it waited behind the others. The benchmark's model_id must
// name the scenario's model (model_matches) unless `allow_model_mismatch`.
//
// TTFT definitions differ between tools. kvsim predicts from the start of prefill to the first
// token produced; `fixed_overhead` (per request, e.g. tokenisation, scheduling, network) is added
// when the measurement counts from request arrival.
//
// A sweep may stand in for the scenario: the measured CSV then names each point by the sweep's
// input columns (their values as `kvsim sweep` prints them), an optional `strategy` column says
// which of the point's prefill strategies was measured (by label: "tsp", "kvr/search", ...),
// and `ttft_ms` gives the measurement. Each row is predicted by that strategy on that point.

#include <optional>
#include <string>
#include <vector>

#include "sim/compare/measurements.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/sweep/sweep.hpp"

namespace kvsim::compare {

struct ComparedPoint {
  MeasuredPoint measured;
  double predicted_ms = 0;  // TTFT (0 for a point that measured no TTFT)
  double error = 0;         // TTFT: (predicted - measured) / measured
  Json provenance;          // share of the predicted compute time by provenance
  // TPOT: of kvsim points that measured one, and of per-request benchmark results.
  std::optional<double> predicted_tpot_ms;
  std::optional<double> tpot_error;  // kvsim points: (predicted - measured) / measured
  // Predicted by a serving simulation only (per-request benchmark results).
  std::optional<double> predicted_e2e_ms;
  std::vector<double> predicted_itls_ms;
};

/// One metric's distribution, measured and predicted (what a serving team reads off a
/// benchmark): TTFT, TPOT, ITL (every gap between tokens) or E2E latency, in ms.
struct Quantiles {
  std::size_t count = 0;
  double mean = 0, p50 = 0, p90 = 0, p99 = 0;
};
struct Distribution {
  std::string metric;  // "ttft", "tpot", "itl", "e2e"
  Quantiles measured, predicted;
};

/// The relative errors of one metric over the points: fractions.
struct ErrorSummary {
  std::size_t points = 0;
  double mape = 0;        // mean absolute error
  double median_ape = 0;  // median absolute error
  double bias = 0;        // mean signed error
  double worst = 0;       // largest absolute error
  std::string worst_entry;
};

struct Aggregates {
  std::size_t points = 0;    // points with a TTFT compared
  double mape = 0;           // TTFT mean absolute percentage error, as a fraction
  double median_ape = 0;
  double bias = 0;           // mean signed error
  double worst = 0;          // largest absolute error
  std::string worst_entry;
  std::optional<ErrorSummary> tpot;  // kvsim points that measured TPOT; none: no such point
  // TTFT first, then TPOT, ITL and E2E where both sides have values.
  std::vector<Distribution> distributions;
  const Distribution& ttft() const { return distributions.front(); }
};

struct Comparison {
  std::vector<ComparedPoint> points;
  Aggregates aggregates;
  std::string method;                 // how the points were predicted
  std::vector<std::string> warnings;  // what the reader must know (the scenario's, compare's)
};

struct CompareOptions {
  double fixed_overhead_ms = 0;  // added to every prediction of an arrival-based TTFT
  bool queueing = false;         // replay a benchmark through the serving simulation
  std::string strategy;          // sweeps: the strategy of rows without one; empty: the first
  bool allow_model_mismatch = false;  // compare anyway (a warning says so)
};

/// Whether a benchmark's model id names the catalog model `name`: its last path component,
/// lower-cased and without a leading "meta-", equals `name` lower-cased or starts with it and
/// a '-' ("meta-llama/Llama-2-7b-chat-hf" names "llama-2-7b"; "llama-2-70b" does not).
bool model_matches(const std::string& model_id, const std::string& name);

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

/// The TTFT error of a point: (predicted - measured) / measured; throws InputError naming the
/// point when the measurement is not a positive finite number.
double relative_error(double predicted_ms, const MeasuredPoint& measured);

Aggregates aggregate(const std::vector<ComparedPoint>& points);

}  // namespace kvsim::compare

#include "sim/compare/gates.hpp"
#include "sim/compare/report.hpp"
