#include "sim/report/cost_lines.hpp"

#include <fmt/format.h>

#include "sim/report/breakdown.hpp"

namespace kvsim::report {

// The breakdown's shape, with what `kvsim cost` also needs: a GEMM's data types, a batch.
std::string operation_shape(const Operation& op) {
  if (op.op_class == OpClass::kGemm) {
    return fmt::format("{} {}{}", operation_shape_brief(op), to_string(op.dtype),
                       op.weights == op.dtype ? "" : ", " + to_string(op.weights) + " weights");
  }
  if (op.op_class == OpClass::kAttention && op.attention.batch > 1) {
    return fmt::format("batch {}, {}", op.attention.batch, operation_shape_brief(op));
  }
  return operation_shape_brief(op);
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
