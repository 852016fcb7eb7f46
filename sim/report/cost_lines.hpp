#pragma once
// The lines of a `kvsim cost` report: one operation priced by the compute model, with its shape
// as `kvsim cost` and `run --explain-costs` print it (a GEMM's "m x n x k dtype", an
// attention's queries, keys and heads, an elementwise kernel's rows and bytes per row). Called by
// the cost reports only; pure.

#include <string>
#include <vector>

#include "models/compute/compute_model.hpp"
#include "sim/report/cost_query.hpp"

namespace kvsim::report {

std::string operation_shape(const Operation& op);
/// `op` priced once by `compute`, as `calls` identical calls.
CostLine op_line(const ComputeModel& compute, const Operation& op, std::int64_t calls);
/// Seconds summed over the lines.
double lines_seconds(const std::vector<CostLine>& lines);

}  // namespace kvsim::report
