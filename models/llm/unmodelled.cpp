#include "models/llm/unmodelled.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace kvsim {
namespace {

constexpr std::string_view kMoe = "mixture of experts";

// Keys as Hugging Face configs spell them (Mixtral, Qwen2-MoE, DeepSeek-V2/V3), and the
// obvious catalog spellings, with the feature each turns on. (Latent attention's keys are
// modelled: mla.hpp.)
constexpr std::pair<std::string_view, std::string_view> kKeys[] = {
    {"num_local_experts", kMoe},
    {"num_experts", kMoe},
    {"n_routed_experts", kMoe},
    {"n_shared_experts", kMoe},
    {"num_experts_per_tok", kMoe},
    {"shared_expert_intermediate_size", kMoe},
    {"decoder_sparse_step", kMoe},
    {"experts", kMoe},
    {"experts_per_token", kMoe},
    {"quantization_config",
     "weights quantised in the checkpoint (give the format as the scenario's \"precision\" "
     "instead, from the unquantised config)"},
};

bool turned_on(const Json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_array() || v.is_object() || v.is_string()) return !v.empty();
  return true;
}

[[noreturn]] void refuse(const ConfigNode& value, std::string_view feature) {
  value.fail(fmt::format(
      "{} is not modelled by kvsim yet, so this model cannot be priced (kvsim would cost it as "
      "the dense model it resembles, with the wrong FLOPs and memory); value {}",
      feature, value.json().dump()));
}

}  // namespace

void refuse_unmodelled_features(const ConfigNode& node, bool moe_modelled) {
  for (const auto& [key, feature] : kKeys) {
    if (moe_modelled && feature == kMoe) continue;  // the importer reads these keys
    const std::string k(key);
    if (node.has(k) && turned_on(node.json().at(k))) refuse(node.at(k), feature);
  }
  for (const auto& [key, value] : node.json().items()) {
    if (!moe_modelled && key.starts_with("moe_") && turned_on(value)) refuse(node.at(key), kMoe);
  }
}

}  // namespace kvsim
