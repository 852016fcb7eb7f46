#include "models/compute/builtin.hpp"

#include "models/compute/roofline.hpp"

namespace kvsim {

const ComputeModelRegistry& compute_models() {
  static const ComputeModelRegistry registry = [] {
    ComputeModelRegistry r("compute model", "how long one operation takes on one GPU");
    r.add("roofline",
          "max(FLOPs / (peak x efficiency), bytes / (HBM bandwidth x efficiency)) + launch "
          "overhead, from the GPU spec sheet",
          {{"compute_efficiency", "ratio", "0.75", "fraction of the dense tensor-core peak"},
           {"memory_efficiency", "ratio", "0.8", "fraction of the HBM bandwidth"},
           {"launch_overhead", "duration", "4us", "fixed cost per kernel"}},
          [](const ConfigNode& node, const GpuSpec& gpu) -> std::unique_ptr<ComputeModel> {
            return std::make_unique<RooflineModel>(gpu, RooflineModel::Params::from_config(node));
          });
    return r;
  }();
  return registry;
}

}  // namespace kvsim
