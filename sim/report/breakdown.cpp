#include "sim/report/breakdown.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "sim/core/table.hpp"
#include "sim/core/units.hpp"
#include "sim/report/warnings_column.hpp"

namespace kvsim::report {
namespace {


void add(PassBreakdown& pass, const ComputeModel& compute, const std::vector<Operation>& ops,
         std::int64_t repeat) {
  for (const Operation& op : ops) {
    const OpCost cost = compute.cost(op);  // already scaled by op.layer_share
    // Models mixing windowed and full layers (Gemma) list each kind of attention on its own; a
    // MoE model's dense-layer and expert-layer operations keep their names (their shares only
    // count the calls).
    const bool kinds = op.layer_share != 1.0 && op.stage == LayerStage::kAttention;
    const std::string name =
        to_string(op.kind) + (!kinds                    ? ""
                              : op.attention.window > 0 ? " local"
                                                        : " full");
    auto it = std::find_if(pass.ops.begin(), pass.ops.end(),
                           [&](const OpLine& l) { return l.op == name; });
    if (it == pass.ops.end()) {
      pass.ops.push_back(OpLine{name, 0, 0, 0, 0, cost.provenance, operation_shape_brief(op)});
      it = pass.ops.end() - 1;
    }
    const double r = static_cast<double>(repeat) * op.layer_share;
    it->calls += std::llround(r);
    it->flops += op.flops * r;
    it->bytes += op.bytes() * r;
    it->seconds += cost.seconds * static_cast<double>(repeat);
    pass.flops += op.flops * r;
    pass.bytes += op.bytes() * r;
    pass.seconds += cost.seconds * static_cast<double>(repeat);
  }
}

}  // namespace

std::string operation_shape_brief(const Operation& op) {
  switch (op.op_class) {
    case OpClass::kGemm:
      return fmt::format("{} x {} x {}", op.gemm.m, op.gemm.n, op.gemm.k);
    case OpClass::kElementwise:
      if (op.rows > 0) {
        return fmt::format("{} rows x {:.0f} B", op.rows,
                           (op.bytes() - op.weight_bytes) / static_cast<double>(op.rows));
      }
      break;
    case OpClass::kAttention:
      break;
  }
  const AttentionShape& a = op.attention;
  return fmt::format("q {} x kv {}, {}/{} heads x {}", a.q_tokens, a.kv_tokens, a.heads,
                     a.kv_heads, a.head_dim);
}

PassBreakdown prefill_breakdown(const LlmSpec& model, const ComputeModel& compute,
                                const DecomposeOptions& options, std::int64_t tokens) {
  PassBreakdown pass;
  pass.what = fmt::format("prefill of {} tokens", tokens);
  const auto ends = model_ends(model, tokens, 1, options);
  add(pass, compute, {ends.front()}, 1);
  add(pass, compute, prefill_layer(model, PrefillChunk{tokens, tokens, Mask::kCausal}, options),
      model.layers);
  add(pass, compute, std::vector<Operation>(ends.begin() + 1, ends.end()), 1);
  return pass;
}

PassBreakdown decode_breakdown(const LlmSpec& model, const ComputeModel& compute,
                               const DecomposeOptions& options, std::int64_t batch,
                               std::int64_t kv_tokens) {
  PassBreakdown pass;
  pass.what = fmt::format("decode step, batch {} at {} KV tokens", batch, kv_tokens);
  if (options.tensor_parallel > 1) {  // the shard's operations: 1/tp of the weights and heads
    pass.what += fmt::format(", one GPU's shard of tensor_parallel {}", options.tensor_parallel);
  }
  check_batch(model, batch);  // before allocating one length per request
  const std::vector<std::int64_t> lengths(static_cast<std::size_t>(batch), kv_tokens);
  const auto ends = model_ends(model, batch, batch, options);
  add(pass, compute, {ends.front()}, 1);
  add(pass, compute, decode_layer(model, lengths, options), model.layers);
  add(pass, compute, std::vector<Operation>(ends.begin() + 1, ends.end()), 1);
  return pass;
}

std::string format_explained(const PassBreakdown& pass) {
  std::string out = fmt::format("{}:\n  {:<15} {:>34} {:>11} {:>9} {:>9}  {}\n", pass.what,
                                "operation", "shape (first call)", "us/call", "TFLOP/s", "GB/s",
                                "source");
  for (const OpLine& l : pass.ops) {
    const double per_call = l.seconds / static_cast<double>(l.calls);
    out += fmt::format("  {:<15} {:>34} {:>11.2f} {:>9.1f} {:>9.1f}  {}\n", l.op, l.shape,
                       per_call * 1e6, l.seconds > 0 ? l.flops / l.seconds * 1e-12 : 0.0,
                       l.seconds > 0 ? l.bytes / l.seconds * 1e-9 : 0.0, to_string(l.provenance));
  }
  return out;
}

std::string format_table(const PassBreakdown& pass) {
  std::string out = fmt::format("{}: {:.3f} ms, {:.2f} TFLOP, {}\n", pass.what,
                                pass.seconds * 1e3, pass.flops * 1e-12, format_bytes(pass.bytes));
  out += fmt::format("  {:<15} {:>6} {:>11} {:>12} {:>10} {:>6}  {}\n", "operation", "calls",
                     "GFLOP", "bytes", "time ms", "share", "source");
  for (const OpLine& l : pass.ops) {
    out += fmt::format("  {:<15} {:>6} {:>11.2f} {:>12} {:>10.3f} {:>5.1f}%  {}\n", l.op, l.calls,
                       l.flops * 1e-9, format_bytes(l.bytes), l.seconds * 1e3,
                       100.0 * l.seconds / pass.seconds, to_string(l.provenance));
  }
  return out;
}

Json to_json(const PassBreakdown& pass) {
  Json ops = Json::array();
  for (const OpLine& l : pass.ops) {
    ops.push_back({{"op", l.op},
                   {"calls", l.calls},
                   {"flops", l.flops},
                   {"bytes", l.bytes},
                   {"seconds", l.seconds},
                   {"provenance", to_string(l.provenance)}});
  }
  return Json{{"what", pass.what},
              {"seconds", pass.seconds},
              {"flops", pass.flops},
              {"bytes", pass.bytes},
              {"ops", ops}};
}

std::string to_csv(const std::vector<PassBreakdown>& passes,
                   const std::vector<std::string>& warnings) {
  Table table;
  table.columns = {"pass", "op", "calls", "flops", "bytes", "seconds", "provenance"};
  for (const PassBreakdown& p : passes) {
    for (const OpLine& l : p.ops) {
      table.rows.push_back({p.what, l.op, fmt::format("{}", l.calls), fmt::format("{}", l.flops),
                            fmt::format("{}", l.bytes), fmt::format("{}", l.seconds),
                            std::string(to_string(l.provenance))});
    }
  }
  add_warnings_column(table, warnings);
  return table.csv();
}

}  // namespace kvsim::report
