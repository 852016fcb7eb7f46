#include "sim/report/cost_lines.hpp"

#include <cmath>

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
  const OpCost c = compute.cost(op);  // already scaled by op.layer_share
  const auto n = static_cast<double>(calls);
  const double share = n * op.layer_share;  // Gemma: the calls of this kind of layer
  return CostLine{to_string(op.kind), operation_shape(op), std::llround(share), op.flops * share,
                  op.bytes() * share, c.seconds * n, to_string(c.provenance)};
}

double lines_seconds(const std::vector<CostLine>& lines) {
  double t = 0;
  for (const CostLine& l : lines) t += l.seconds;
  return t;
}

}  // namespace kvsim::report
