#pragma once
// Internal to sim/compare: the published end-to-end engine tables, read in place as they are
// distributed (../shared/data/engines), recognised by their header. Called by
// read_measurements for a .csv whose header is one of these.
//
// Splitwise's perf_model.csv (Patel et al., ISCA 2024; columns model, hardware, prompt_size,
// batch_size, token_size, ..., prompt_time, token_time, e2e_time, tensor_parallel; times in ms):
// each configuration was run several times, and becomes one point holding the MEDIANS of its
// runs. prompt_time is the prefill of the whole batch (the TTFT), token_time the mean decode
// iteration (the TPOT). Outliers are kept visible, never dropped silently:
//   - a run stopped early when its e2e_time is more than 1% below prompt_time + (token_size - 1)
//     x token_time, what generating every requested token at its own pace takes (runs that
//     finished sit within +0.4% of it). Its token_time covers a shorter decode than the row
//     says, so the TPOT median leaves it out; when every run stopped early, the TPOT is kept with
//     output_tokens set to the median of the runs' generated tokens (1 + (e2e_time -
//     prompt_time) / token_time). A warning names each such configuration.
//   - a configuration whose runs spread more than kSpreadWarning ((max - min) / median, TTFT or
//     TPOT) gets a warning naming it (the data README warns of memory pressure at batch 64).
// Rows are fp16 (the data README) and carry engine "splitwise".
//
// TensorRT-LLM's tables (columns model, gpu, precision, tp, batch, input_tokens, output_tokens,
// ttft_ms, optional output_tokens_per_s, engine, source): one point per row, its engine column
// kept. A row with output_tokens_per_s (gptSessionBenchmark's throughput: batch x output_tokens
// generated tokens over the whole run, the first token's prefill included) gives
//   TPOT = (batch x output_tokens / output_tokens_per_s - ttft_ms) / (output_tokens - 1),
// the run's time less its prefill, over the output_tokens - 1 decode iterations after it.

#include <string>

#include "sim/compare/measurements.hpp"
#include "sim/core/table.hpp"

namespace kvsim::compare {

/// Spread of a configuration's runs ((max - min) / median) above which a warning names it.
inline constexpr double kSpreadWarning = 0.10;

bool is_splitwise_table(const Table& t);
bool is_trtllm_table(const Table& t);

Measurements read_splitwise_table(const Table& t, const std::string& path);
Measurements read_trtllm_table(const Table& t, const std::string& path);

}  // namespace kvsim::compare
