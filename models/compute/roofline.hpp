#pragma once
// Roofline compute model (Williams, Waterman, Patterson, CACM 2009):
//   time = max(FLOPs / (peak x compute_efficiency), bytes / (HBM bandwidth x memory_efficiency))
//          + launch_overhead
// with the peak chosen by the operation's data type from the GPU spec sheet. The efficiencies
// default to the GPU's published achieved figures where the catalog has them (gpu_spec.hpp).

#include <optional>

#include "models/compute/compute_model.hpp"

namespace kvsim {

class RooflineModel final : public ComputeModel {
 public:
  struct Params {
    double compute_efficiency = 0.75;  // fraction of the dense tensor-core peak reached
    double memory_efficiency = 0.8;    // fraction of the HBM bandwidth reached
    double launch_overhead = 4e-6;     // seconds per kernel
    // fp8 math's fraction of the fp8 peak; unset: compute_efficiency.
    std::optional<double> fp8_compute_efficiency;
    static Params from_config(const ConfigNode& node);
    /// As above, the defaults from `gpu`'s published achieved figures where it has them
    /// (achieved bf16 GEMM / bf16 peak, achieved fp8 GEMM / fp8 peak, stream copy / HBM peak);
    /// efficiencies the scenario gives win.
    static Params from_config(const ConfigNode& node, const GpuSpec& gpu);
  };

  RooflineModel(GpuSpec gpu, Params params) : gpu_(std::move(gpu)), params_(params) {}
  OpCost cost(const Operation& op) const override;
  std::string describe() const override;
  Json to_json() const override;
  const GpuSpec& gpu() const { return gpu_; }

 private:
  GpuSpec gpu_;
  Params params_;
};

}  // namespace kvsim
