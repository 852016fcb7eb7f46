#pragma once
// Per-operation cost of a whole forward pass on one GPU: the table `kvsim run` prints for a
// prompt (prefill) and for one decode step, with where each number came from. Under tensor
// parallelism (options.tensor_parallel) the pass is one GPU's shard: 1/tp of the weights and
// heads, without the all-reduces (sim/serving/decode_step.hpp prices the step with them).

#include <string>
#include <vector>

#include "models/compute/compute_model.hpp"

namespace kvsim::report {

struct OpLine {
  std::string op;
  std::int64_t calls = 0;  // kernels over the whole pass (per layer x layers, or once)
  double flops = 0;
  double bytes = 0;
  double seconds = 0;
  Provenance provenance = Provenance::kRoofline;
  std::string shape;  // of the first call: "4096 x 12288 x 4096", "q 4096 x kv 4096, 32/32 x 128"
};

struct PassBreakdown {
  std::string what;  // "prefill of 2048 tokens"
  std::vector<OpLine> ops;
  double seconds = 0;
  double flops = 0;
  double bytes = 0;
};

PassBreakdown prefill_breakdown(const LlmSpec& model, const ComputeModel& compute,
                                const DecomposeOptions& options, std::int64_t tokens);
PassBreakdown decode_breakdown(const LlmSpec& model, const ComputeModel& compute,
                               const DecomposeOptions& options, std::int64_t batch,
                               std::int64_t kv_tokens);

std::string format_table(const PassBreakdown& pass);
/// One operation's shape as the breakdown prints it: "m x n x k" for a GEMM, "R rows x B B" for
/// an elementwise kernel, "q Q x kv K, H/G heads x D" for attention.
std::string operation_shape_brief(const Operation& op);

/// Per operation: shape, time per call, achieved FLOP/s and bytes/s, and provenance
/// (`kvsim run --explain-costs`).
std::string format_explained(const PassBreakdown& pass);
Json to_json(const PassBreakdown& pass);
/// One row per operation and pass; a last `warnings` column only when `warnings` is not empty.
std::string to_csv(const std::vector<PassBreakdown>& passes,
                   const std::vector<std::string>& warnings = {});

}  // namespace kvsim::report
