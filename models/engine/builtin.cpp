#include "models/engine/builtin.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "models/catalog/catalog.hpp"
#include "models/engine/engine_params.hpp"

namespace kvsim {
namespace {

// Keys a profile file may carry beside the engine's own: free text and the fit's report,
// which kvsim keeps but does not read.
const std::vector<std::string> kProfileMetadata = {"kind", "description", "source", "fit"};

// A profile: a shipped name, or a path to a .json file (relative to the scenario). The file is
// a parametric engine object ("type" optional), whose "name" defaults to the profile's.
EngineModel read_profile(const ConfigNode& name_node) {
  const std::string name = name_node.as_string();
  const ConfigDocument doc = catalog::shipped_or_file(name_node, "engine profile",
                                                      shipped_engine_profiles(),
                                                      catalog::engine_profile_document);
  const ConfigNode root = doc.root();
  if (!root.json().is_object()) root.fail("an engine profile is a JSON object");
  if (const auto t = root.find("type")) (void)t->as_one_of({"parametric"});
  EngineParams p = read_parametric(root);
  for (const std::string& key : kProfileMetadata) (void)root.find(key);
  root.finish();
  p.profile = name;
  if (p.name.empty()) p.name = name;
  return EngineModel(std::move(p));
}

std::vector<ParamDoc> parametric_docs() {
  return {
      {"name", "string", "\"\"", "a label for reports"},
      {"host.per_pass", "duration", "0us", "host time of each forward pass, before its first "
                                           "kernel, on each GPU (scheduling, sampling, Python)"},
      {"host.per_sequence", "duration", "0us", "... plus this per sequence in the pass"},
      {"host.per_token", "duration", "0us", "... plus this per new token of the pass"},
      {"launch.per_kernel", "duration", "0us", "GPU-visible gap per kernel launched"},
      {"launch.decode_cuda_graphs", "bool", "false",
       "a pure-decode pass (no prompt tokens) is a CUDA graph and pays no launch gaps"},
      {"fusion", "none|elementwise", "none",
       "elementwise: input/post-attention norms, rotary, activation and residual adds run "
       "inside neighbouring kernels (cost and launch nothing); none: each is a kernel"},
      {"attention.kernel", "string", "flash-attention-2", "the attention kernel class (a label)"},
      {"attention.time_scale", "ratio > 0", "1.0", "factor on the compute model's attention time"},
      {"all_reduce.type", "nccl|custom", "nccl",
       "the tensor-parallel all-reduce: the network's NCCL model, or a custom one"},
      {"all_reduce.max_bytes", "size", "8MiB", "custom: larger messages keep NCCL"},
      {"all_reduce.latency", "{gpus: duration}", "(required for custom)",
       "custom: latency by GPU count, piecewise linear between listed counts; others refused"},
      {"all_reduce.bandwidth", "bandwidth", "150GB/s", "custom: time = latency + bytes / this"},
      {"layer_sync.tensor_parallel", "duration", "0us",
       "per layer per pass when tensor parallel > 1 (rank synchronisation)"},
      {"layer_sync.pipeline_parallel", "duration", "0us", "per pipeline stage hand-off"},
  };
}

}  // namespace

const EngineRegistry& engine_models() {
  static const EngineRegistry registry = [] {
    EngineRegistry r("engine", "what a serving engine adds around the kernels of a pass");
    r.add("kernels-only",
          "the default: kernel and collective time only (no host time, launch gaps, fusion "
          "or custom all-reduce)",
          {}, [](const ConfigNode&) { return EngineModel(); });
    r.add("parametric", "every engine parameter inline; each optional, each default no effect",
          parametric_docs(),
          [](const ConfigNode& node) { return EngineModel(read_parametric(node)); });
    r.add("profile",
          "a shipped engine profile (calibration/profiles/engines, kvsim calibrate-engine) or "
          "a profile file; \"engine\": \"NAME\" is the same",
          {{"name", "name|path", "", "a shipped engine profile, or a .json file"}},
          [](const ConfigNode& node) { return read_profile(node.at("name")); });
    return r;
  }();
  return registry;
}

EngineModel read_engine(const ConfigNode& node) {
  if (node.json().is_string()) return read_profile(node);
  if (!node.json().is_object()) {
    node.fail("give an engine profile's name, or an object with a \"type\" (kernels-only, "
              "parametric, profile)");
  }
  return engine_models().create(node);
}

std::vector<std::string> shipped_engine_profiles() { return catalog::engine_profile_names(); }

}  // namespace kvsim
