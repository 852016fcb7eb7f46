#include "models/compute/builtin.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "models/catalog/catalog.hpp"
#include "models/compute/calibrated.hpp"
#include "models/compute/derived_profile.hpp"
#include "models/compute/packed_profiles.hpp"
#include "models/compute/roofline.hpp"

#include <fmt/format.h>

namespace kvsim {
namespace {

// The catalog spec of the GPU `profile` was measured on, when it may price `gpu` (another GPU of
// its SM generation, derived_profile.hpp); otherwise an InputError at `at`.
GpuSpec measured_gpu(const ConfigNode& at, const DeviceProfile& profile, const GpuSpec& gpu) {
  const std::string mismatch = fmt::format("profile '{}' was measured on {}, not on the "
                                           "scenario's {}", profile.name, profile.gpu, gpu.name);
  const auto names = catalog::gpu_names();
  if (std::find(names.begin(), names.end(), profile.gpu) == names.end()) {
    at.fail(mismatch + ", and " + profile.gpu + " is not in the GPU catalog to derive from");
  }
  const GpuSpec measured = catalog::gpu(profile.gpu);
  if (const std::string why = why_not_derivable(measured, gpu); !why.empty()) {
    at.fail(fmt::format("{}; {}", mismatch, why));
  }
  return measured;
}

// A device profile, NAME or PATH (shipped_or_file). Profiles of collectives share the folder,
// so the kind is checked. A shipped profile packed at build time (packed_profiles.hpp) skips
// parsing its points.
DeviceProfile read_device_profile(const ConfigNode& field) {
  if (field.json().is_string()) {
    if (auto packed = packed_device_profile(field.json().get<std::string>())) {
      return std::move(*packed);
    }
  }
  const ConfigDocument doc = catalog::shipped_or_file(field, "device profile",
                                                      catalog::profile_names(),
                                                      catalog::profile_document);
  if (doc.json().is_object() && doc.json().contains("collectives") &&
      !doc.json().contains("kind")) {
    field.fail(fmt::format("'{}' is a collective profile (use it as \"collectives\"), not a "
                           "device profile (kvsim calibrate writes those)",
                           field.as_string()));
  }
  return DeviceProfile::from_json(doc.root());
}

// The compute section a calibrated model is written back as (the resolved scenario), loading
// again to the same model: a shipped profile by its name; a profile file by its absolute path,
// since its internal name may be a shipped profile's (which a name would silently load
// instead) or none; and the fallback as given.
Json calibrated_as_given(const ConfigNode& node) {
  const ConfigNode p = node.at("profile");
  const std::string value = p.as_string();
  const std::vector<std::string> shipped = catalog::profile_names();
  const bool by_name = std::find(shipped.begin(), shipped.end(), value) != shipped.end();
  Json out{{"type", "calibrated"},
           {"profile", by_name ? value
                               : std::filesystem::absolute(p.resolve_path(value))
                                     .lexically_normal()
                                     .string()}};
  if (const auto f = node.find("fallback")) out["fallback"] = f->json();
  return out;
}

}  // namespace

const ComputeModelRegistry& compute_models() {
  static const ComputeModelRegistry registry = [] {
    ComputeModelRegistry r("compute model", "how long one operation takes on one GPU");
    r.add("roofline",
          "max(FLOPs / (peak x efficiency), bytes / (HBM bandwidth x efficiency)) + launch "
          "overhead, from the GPU spec sheet",
          {{"compute_efficiency", "ratio", "the GPU's achieved GEMM / peak, else 0.75",
            "fraction of the dense tensor-core peak (fp8 math: the achieved fp8 GEMM / fp8 "
            "peak where the catalog has it and this is not given)"},
           {"memory_efficiency", "ratio", "the GPU's achieved stream copy / peak, else 0.8",
            "fraction of the HBM bandwidth"},
           {"launch_overhead", "duration", "4us", "fixed cost per kernel"}},
          [](const ConfigNode& node, const GpuSpec& gpu) -> std::unique_ptr<ComputeModel> {
            return std::make_unique<RooflineModel>(gpu,
                                                   RooflineModel::Params::from_config(node, gpu));
          });
    r.add("calibrated",
          "per-operation tables measured on a GPU, with fitted models between and beyond "
          "them (kvsim calibrate); fused attention over its kernel's launch grid; fp8 and GPUs of "
          "the profile's SM generation derived by rule, and attention derived from a measured "
          "GPU's profile where this one has none (each with a warning); the roofline for "
          "anything else the profile lacks",
          {{"profile", "name|path", "",
            "a shipped profile (calibration/profiles) or a profile JSON file; one measured on "
            "another GPU of the same SM generation is carried over by rule (derived)"},
           {"fallback", "{roofline params}", "{}",
            "roofline parameters for operations the profile does not cover"}},
          [](const ConfigNode& node, const GpuSpec& gpu) -> std::unique_ptr<ComputeModel> {
            const ConfigNode p = node.at("profile");
            DeviceProfile profile = read_device_profile(p);
            const Json no_fallback = Json::object();
            const auto f = node.find("fallback");
            const RooflineModel::Params fallback = RooflineModel::Params::from_config(
                f ? *f : ConfigNode(&no_fallback, "", Json::json_pointer("/compute/fallback")),
                gpu);
            std::unique_ptr<CalibratedModel> model;
            if (profile.gpu == gpu.name) {
              model = std::make_unique<CalibratedModel>(gpu, std::move(profile), fallback);
            } else {
              const GpuSpec measured = measured_gpu(p, profile, gpu);
              model = std::make_unique<CalibratedModel>(
                  gpu, derive_for_gpu(profile, measured, gpu), fallback, measured);
            }
            model->set_written_as(calibrated_as_given(node));
            return model;
          });
    return r;
  }();
  return registry;
}

}  // namespace kvsim
