#pragma once
// The compute-model family: `roofline` now, calibrated profiles in calibration/.

#include <memory>

#include "models/compute/compute_model.hpp"
#include "sim/core/registry.hpp"

namespace kvsim {

using ComputeModelRegistry = Registry<std::unique_ptr<ComputeModel>, const GpuSpec&>;
const ComputeModelRegistry& compute_models();

}  // namespace kvsim
