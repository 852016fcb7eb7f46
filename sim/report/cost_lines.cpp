#include "sim/report/cost_lines.hpp"

#include <fmt/format.h>

namespace kvsim::report {

std::string operation_shape(const Operation& op) {
  switch (op.op_class) {
    case OpClass::kGemm:
      return fmt::format("{} x {} x {} {}{}", op.gemm.m, op.gemm.n, op.gemm.k, to_string(op.dtype),
                         op.weights == op.dtype ? "" : ", " + to_string(op.weights) + " weights");
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
  return fmt::format("{}q {} x kv {}, {}/{} heads x {}",
                     a.batch > 1 ? fmt::format("batch {}, ", a.batch) : std::string(),
                     a.q_tokens, a.kv_tokens, a.heads, a.kv_heads, a.head_dim);
}

CostLine op_line(const ComputeModel& compute, const Operation& op, std::int64_t calls) {
  const OpCost c = compute.cost(op);
  const auto n = static_cast<double>(calls);
  return CostLine{to_string(op.kind), operation_shape(op), calls, op.flops * n, op.bytes() * n,
                  c.seconds * n, to_string(c.provenance)};
}

double lines_seconds(const std::vector<CostLine>& lines) {
  double t = 0;
  for (const CostLine& l : lines) t += l.seconds;
  return t;
}

}  // namespace kvsim::report
