#include "models/compute/roofline.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace kvsim {

std::string to_string(Provenance p) {
  switch (p) {
    case Provenance::kMeasured: return "measured";
    case Provenance::kInterpolated: return "interpolated";
    case Provenance::kExtrapolated: return "extrapolated";
    case Provenance::kRoofline: return "roofline";
    case Provenance::kDerived: return "derived";
  }
  return "?";
}

double total_seconds(const ComputeModel& model, std::span<const Operation> ops) {
  double t = 0;
  for (const Operation& op : ops) t += model.cost(op).seconds;
  return t;
}

RooflineModel::Params RooflineModel::Params::from_config(const ConfigNode& node) {
  Params p;
  p.compute_efficiency = node.number_or("compute_efficiency", p.compute_efficiency, 1e-3, 1.0);
  p.memory_efficiency = node.number_or("memory_efficiency", p.memory_efficiency, 1e-3, 1.0);
  if (const auto launch = node.find("launch_overhead")) p.launch_overhead = launch->as_seconds();
  return p;
}

RooflineModel::Params RooflineModel::Params::from_config(const ConfigNode& node,
                                                         const GpuSpec& gpu) {
  Params p = from_config(node);
  if (!node.has("compute_efficiency") && gpu.achieved_bf16_matmul > 0) {
    p.compute_efficiency = gpu.achieved_bf16_matmul / gpu.bf16_flops;
  }
  if (!node.has("compute_efficiency") && gpu.achieved_fp8_matmul > 0 && gpu.fp8_flops > 0) {
    p.fp8_compute_efficiency = gpu.achieved_fp8_matmul / gpu.fp8_flops;
  }
  if (!node.has("memory_efficiency") && gpu.achieved_hbm > 0) {
    p.memory_efficiency = gpu.achieved_hbm / gpu.hbm_bandwidth;
  }
  return p;
}

OpCost RooflineModel::cost(const Operation& op) const {
  const bool fp8_math = op.dtype == DType::kFp8 && gpu_.fp8_flops > 0;
  const double efficiency = fp8_math && params_.fp8_compute_efficiency
                                ? *params_.fp8_compute_efficiency
                                : params_.compute_efficiency;
  const double compute = op.flops / (gpu_.peak_flops(op.dtype) * efficiency);
  const double memory = op.bytes() / (gpu_.hbm_bandwidth * params_.memory_efficiency);
  return OpCost{(std::max(compute, memory) + params_.launch_overhead) * op.layer_share,
                Provenance::kRoofline};
}

std::string RooflineModel::describe() const {
  return fmt::format("roofline on {} (compute efficiency {}, memory efficiency {}, launch {} us)",
                     gpu_.name, params_.compute_efficiency, params_.memory_efficiency,
                     params_.launch_overhead * 1e6);
}

Json RooflineModel::to_json() const {
  Json out{{"type", "roofline"},
           {"gpu", gpu_.name},
           {"compute_efficiency", params_.compute_efficiency},
           {"memory_efficiency", params_.memory_efficiency},
           {"launch_overhead", fmt::format("{}us", params_.launch_overhead * 1e6)}};
  if (params_.fp8_compute_efficiency) {
    out["fp8_compute_efficiency"] = *params_.fp8_compute_efficiency;
  }
  return out;
}

}  // namespace kvsim
