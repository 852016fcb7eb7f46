#pragma once
// Measured latencies as kvsim compare reads them.
//
// Formats (detected from the content): kvsim's measurement JSON ("kind":
// "kvsim-ttft-measurements"), kvsim's CSV (columns model, gpu, precision, tp, pp, batch,
// prompt_tokens, output_tokens, ttft_ms, tpot_ms, attention, engine; per row ttft_ms or tpot_ms
// may be empty but not both, and a tpot_ms needs output_tokens of 2 or more), the two published
// engine tables read in place (engine_tables.hpp: Splitwise's perf_model.csv, TensorRT-LLM's
// TTFT and decode-throughput tables), or the JSON that `vllm bench serve --save-result
// --save-detailed` writes. Of vLLM's result, compare reads: model_id, request_rate ("inf" or a
// number), burstiness, max_concurrency, input_lens, output_lens, ttfts, itls, latencies,
// start_times and queue_times (per request, seconds); everything else is ignored. Every number
// read must be finite: a measured inf or NaN is an input error naming the file and entry.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/sweep/sweep.hpp"

namespace kvsim::compare {

struct MeasuredPoint {
  std::string entry;  // where it came from: "file.json /points/3", "file.csv line 5"
  std::string model;  // catalog name; empty: the scenario's
  std::string gpu;    // catalog name; empty: the scenario's
  std::string attention;  // "fused", "eager" or empty (the scenario's)
  // The precision of weights, activations and KV cache ("fp16", "bf16", "fp8", ...); empty: the
  // scenario's.
  std::string precision;
  std::string engine;  // the serving software measured ("TensorRT-LLM v0.9"); empty: unrecorded
  std::int64_t tp = 1;
  std::int64_t pp = 1;
  std::int64_t batch = 1;
  std::int64_t prompt_tokens = 0;
  double ttft_ms = 0;            // of the whole batch's prefill; 0 when !has_ttft
  bool has_ttft = true;          // false: a row that measured only TPOT
  std::int64_t output_tokens = 0;  // 0: not recorded
  std::size_t repeats = 1;       // runs this point is the median of (published tables)
  // Time per output token after the first: for a kvsim row or a published table, the mean
  // decode iteration of the batch from prompt_tokens to prompt_tokens + output_tokens - 1; for
  // a per-request benchmark result (latency - TTFT) / (output - 1), as vLLM computes it
  // (outputs of 2 tokens or more). Per-request results only: end-to-end latency, the gaps
  // between successive tokens, when the client sent it and how long it waited for a free slot
  // before that (closed loop).
  std::optional<double> tpot_ms;
  std::optional<double> e2e_ms;
  std::vector<double> itls_ms;
  std::optional<double> start_s;       // the benchmark's clock, seconds
  std::optional<double> client_queue_s;
  std::int64_t request = -1;           // the request's index in the result (its --baseline key)
  // Sweep measurements only: the point's settings (column, value) in the sweep's column order,
  // and the label of the strategy measured there.
  std::vector<std::pair<std::string, std::string>> settings;
  std::string strategy;
};

/// What identifies a point across runs (for --baseline): model, GPU, attention, TP, batch and
/// prompt length (and, where set, precision, PP, output tokens and engine); for a sweep point
/// its settings and strategy; for a benchmark's request its
/// index in the result.
std::string point_key(const MeasuredPoint& p);

/// How a benchmark client sent its requests (`vllm bench serve`), for replaying it.
struct BenchmarkRun {
  std::string model_id;  // as the benchmark names it ("meta-llama/Llama-2-7b-hf"); empty: none
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
  std::vector<std::string> warnings;  // what was read and is not compared
};

/// A JSON file compare reads (measurements, a baseline); a number too large for a double
/// (1e400) is an InputError naming the file, not an internal error.
ConfigDocument load_json(const std::string& path);

/// Reads any supported format (detected from the content); throws InputError naming the entry.
Measurements read_measurements(const std::string& path);

/// A `--where column=value` filter: the points whose column (model, gpu, precision, engine, tp,
/// pp, batch) has that value, as read (GPU names after mapping to the catalog's).
struct Where {
  std::string column, value;
};
/// Parses "column=value"; throws InputError naming the option for anything else.
Where parse_where(const std::string& text);
/// Keeps the points every filter selects, saying in a warning how many of how many were kept;
/// throws InputError when none is left.
void select(Measurements& m, const std::vector<Where>& filters);

/// Reads a CSV of measurements taken at the points of `sweep`: its columns, optional
/// `strategy`, `ttft_ms` and optional `tpot_ms`; throws InputError naming the file and line.
Measurements read_sweep_measurements(const std::string& path, const sweep::SweepSpec& sweep);

}  // namespace kvsim::compare
