#include "sim/report/cost_query.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/compute/precision_on_gpu.hpp"
#include "sim/core/input_error.hpp"
#include "sim/core/units.hpp"
#include "sim/report/cost_lines.hpp"

namespace kvsim::report {
namespace {

DecomposeOptions scenario_options(const Scenario& s, std::int64_t tensor_parallel) {
  return s.decompose_options(tensor_parallel);
}

}  // namespace

CostReport price_gemm(const Scenario& s, const GemmQuery& q) {
  // What the GPU runs a requested format as (FP8 on a GPU without FP8 tensor cores: W8A16),
  // exactly as a scenario's precision is resolved.
  const DType sixteen = q.dtype == DType::kBf16 ? DType::kBf16 : DType::kFp16;
  const PrecisionOnGpu p = precision_on_gpu(Precision{q.dtype, q.dtype, q.dtype}, s.gpu, sixteen);
  CostReport r;
  r.command = "gemm";
  r.what = fmt::format("GEMM of {} x {} (m x k) by {} x {} (k x n), {} on {}", q.m, q.k, q.k, q.n,
                       to_string(q.dtype), s.gpu.name);
  r.priced_by = s.compute->describe();
  // A GEMM's kind does not enter its price (compute models look GEMMs up by class and shape).
  const Operation op =
      gemm(OpKind::kOutProj, LayerStage::kPostAttention, q.m, q.n, q.k, p.precision);
  r.lines.push_back(op_line(*s.compute, op, 1));
  r.lines.back().op = "gemm";
  r.seconds = r.lines.back().seconds;
  if (!p.warning.empty()) r.warnings.push_back(p.warning);
  return r;
}

CostReport price_attention(const Scenario& s, const AttentionQuery& q) {
  // The scenario's model with the asked widths: the attention operations depend only on heads,
  // KV heads and head dimension; the rest of the layer is decomposed and dropped.
  LlmSpec spec = s.model;
  spec.heads = q.heads;
  spec.kv_heads = q.kv_heads;
  spec.head_dim = q.head_dim;
  spec.hidden_size = q.heads * q.head_dim;
  spec.sliding_window = 0;  // a bare operation: full attention over what is asked
  const DecomposeOptions o = scenario_options(s, 1);
  CostReport r;
  r.command = "attention";
  r.priced_by = s.compute->describe();
  std::vector<Operation> ops;
  std::int64_t calls = 1;
  if (q.decode) {
    r.what = fmt::format("decode attention: batch {}, one query each against {} keys ({} cached "
                         "+ 1)", q.batch, q.cached + 1, q.cached);
    const std::vector<std::int64_t> lengths(static_cast<std::size_t>(q.batch), q.cached + 1);
    ops = decode_layer(spec, lengths, o);  // one kernel for the whole batch, as a decode step
  } else {
    r.what = fmt::format("prefill attention: {} sequence(s) of {} new tokens after {} cached, "
                         "causal", q.batch, q.chunk, q.cached);
    ops = prefill_layer(spec, PrefillChunk{q.chunk, q.cached + q.chunk, Mask::kCausal}, o);
    calls = q.batch;  // a batch's prefills are priced one sequence at a time (IterationCost)
  }
  for (const Operation& op : ops) {
    if (op.stage == LayerStage::kAttention) r.lines.push_back(op_line(*s.compute, op, calls));
  }
  r.seconds = lines_seconds(r.lines);
  r.notes.push_back(fmt::format("{} attention, activations {}, KV cache {}",
                                o.attention == AttentionImpl::kFused ? "fused" : "eager",
                                to_string(o.precision.activations),
                                to_string(o.precision.kv_cache)));
  return r;
}

CostReport price_collective(const Scenario& s, const CollectiveQuery& q) {
  const auto p = static_cast<int>(q.gpus.size());
  CostReport r;
  r.command = "collective";
  r.what = fmt::format("{} of {} over {} GPUs ({})", to_string(q.kind), format_bytes(q.bytes), p,
                       fmt::join(q.gpus, ","));
  r.priced_by = fmt::format("network: {} GPUs, collectives {}", s.topology->gpu_count(),
                            s.collectives.to_json().dump());
  try {
    const net::Protocol& protocol =
        net::choose_protocol(*s.topology, q.gpus, q.kind, s.collectives, q.bytes);
    const Duration t = net::collective_time(*s.topology, q.gpus, q.kind, s.collectives.algorithm,
                                            q.bytes, protocol);
    r.lines.push_back(CostLine{to_string(q.kind), fmt::format("{} x {} GPUs", format_bytes(q.bytes), p),
                               1, 0, q.bytes, to_seconds(t),
                               fmt::format("closed form, {} {}, alone on the network",
                                           to_string(s.collectives.algorithm), protocol.name)});
  } catch (const std::invalid_argument& e) {  // an algorithm the collective does not have
    throw InputError("--kind", "", fmt::format("{} ({}: see the scenario's \"collectives\")",
                                               e.what(), to_string(s.collectives.algorithm)));
  }
  r.seconds = r.lines.back().seconds;
  // nccl-tests' bus bandwidth: algorithm bandwidth x the share of the buffer each rank moves.
  const double dp = p;
  const double factor = q.kind == net::CollectiveKind::kAllReduce ? 2 * (dp - 1) / dp
                        : q.kind == net::CollectiveKind::kBroadcast ? 1.0
                                                                     : (dp - 1) / dp;
  if (r.seconds > 0) {
    r.notes.push_back(fmt::format("algorithm bandwidth {}, bus bandwidth {} (nccl-tests' "
                                  "convention)",
                                  format_bandwidth(q.bytes / r.seconds),
                                  format_bandwidth(q.bytes / r.seconds * factor)));
  }
  return r;
}

}  // namespace kvsim::report
