#include "models/llm/hf_moe.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "models/llm/limits.hpp"

namespace kvsim {
namespace {

std::int64_t count_at(const ConfigNode& node, const char* key, std::int64_t max) {
  if (!node.has(key)) node.fail(fmt::format("Hugging Face config lacks {}", key));
  const ConfigNode v = node.at(key);
  const std::int64_t x = v.as_integer();
  if (x < 1 || x > max) {
    v.fail(fmt::format("must be between 1 and {} (kvsim's limit), got {}", max, x));
  }
  return x;
}

// Routed experts, top-k and the experts' width, checked against each other.
void read_routed(const ConfigNode& node, const char* experts_key, const char* width_key,
                 MoeSpec& m) {
  m.experts = count_at(node, experts_key, limits::kExperts);
  m.experts_per_token = count_at(node, "num_experts_per_tok", limits::kExperts);
  if (m.experts_per_token > m.experts) {
    node.at("num_experts_per_tok").fail(fmt::format(
        "a token cannot be routed to {} of {} experts", m.experts_per_token, m.experts));
  }
  m.expert_intermediate = count_at(node, width_key, limits::kWidth);
  if (m.experts * m.expert_intermediate > limits::kExpertWidth) {
    node.at(experts_key).fail(fmt::format("{} experts of {} make a width beyond kvsim's limit "
                                          "of {}", m.experts, m.expert_intermediate,
                                          limits::kExpertWidth));
  }
}

// Qwen's layer pattern: layer i is MoE when (i + 1) % decoder_sparse_step == 0, unless listed in
// mlp_only_layers, which kvsim's pattern cannot express and refuses.
void read_qwen_pattern(const ConfigNode& node, std::int64_t layers, MoeSpec& m) {
  if (node.has("decoder_sparse_step")) {
    m.layer_step = count_at(node, "decoder_sparse_step", layers);
  }
  if (const auto only = node.find("mlp_only_layers");
      only && only->json().is_array() && !only->json().empty()) {
    only->fail("dense layers listed one by one (mlp_only_layers) are not modelled: kvsim's "
               "layer pattern is first_dense_layers and decoder_sparse_step");
  }
}

// Mixtral: every layer MoE, experts as wide as intermediate_size, no shared expert.
MoeSpec import_mixtral(const ConfigNode& node) {
  MoeSpec m;
  read_routed(node, "num_local_experts", "intermediate_size", m);
  return m;
}

// Qwen2-MoE (Qwen1.5-MoE, Qwen2-57B-A14B): one shared expert of shared_expert_intermediate_size
// beside the routed ones (its sigmoid gate, a hidden x 1 GEMM, is left out: under 0.01% of the
// layer).
MoeSpec import_qwen2_moe(const ConfigNode& node, std::int64_t layers) {
  MoeSpec m;
  read_routed(node, "num_experts", "moe_intermediate_size", m);
  if (node.has("shared_expert_intermediate_size")) {
    const ConfigNode v = node.at("shared_expert_intermediate_size");
    if (v.as_integer() > 0) {
      m.shared_experts = 1;
      m.shared_intermediate = count_at(node, "shared_expert_intermediate_size", limits::kWidth);
    }
  }
  read_qwen_pattern(node, layers, m);
  return m;
}

// Qwen3-MoE: routed experts only.
MoeSpec import_qwen3_moe(const ConfigNode& node, std::int64_t layers) {
  MoeSpec m;
  read_routed(node, "num_experts", "moe_intermediate_size", m);
  read_qwen_pattern(node, layers, m);
  return m;
}

// DeepSeek-V2/V3: n_routed_experts of moe_intermediate_size, n_shared_experts of the same width,
// the first first_k_dense_replace layers dense (intermediate_size). DeepSeek's rule for the rest
// (layer i is MoE when i % moe_layer_freq == 0) matches kvsim's pattern only at frequency 1,
// which every released DeepSeek-V2/V3 config uses; another is refused. Group-limited routing
// (n_group, topk_group) changes which experts are picked, not the work: the scenario's
// expert_load models the picks.
MoeSpec import_deepseek(const ConfigNode& node, std::int64_t layers) {
  MoeSpec m;
  read_routed(node, "n_routed_experts", "moe_intermediate_size", m);
  if (const auto shared = node.find("n_shared_experts");
      shared && !shared->json().is_null() && shared->as_integer() > 0) {
    m.shared_experts = count_at(node, "n_shared_experts", limits::kExperts);
    m.shared_intermediate = m.expert_intermediate;
  }
  if (const auto dense = node.find("first_k_dense_replace"); dense && dense->as_integer() > 0) {
    m.first_dense_layers = count_at(node, "first_k_dense_replace", layers);
  }
  if (const auto freq = node.find("moe_layer_freq"); freq && freq->as_integer() != 1) {
    freq->fail("a MoE layer every moe_layer_freq-th layer other than every layer is not "
               "modelled (kvsim counts the pattern from the first MoE layer)");
  }
  return m;
}

}  // namespace

const std::vector<std::string>& hf_moe_model_types() {
  static const std::vector<std::string> types{"mixtral", "qwen2_moe", "qwen3_moe", "deepseek_v2",
                                              "deepseek_v3"};
  return types;
}

bool is_hf_moe_model_type(const std::string& type) {
  const auto& t = hf_moe_model_types();
  return std::find(t.begin(), t.end(), type) != t.end();
}

MoeSpec import_hf_moe(const ConfigNode& node, const std::string& type, std::int64_t layers) {
  if (type.starts_with("deepseek")) {
    const MoeSpec m = import_deepseek(node, layers);
    if (m.moe_layers(layers) == 0) {
      node.at("first_k_dense_replace").fail(fmt::format("leaves no MoE layer among the {} layers",
                                                        layers));
    }
    return m;
  }
  const MoeSpec m = type == "mixtral"     ? import_mixtral(node)
                    : type == "qwen2_moe" ? import_qwen2_moe(node, layers)
                                          : import_qwen3_moe(node, layers);
  if (m.moe_layers(layers) == 0) {
    node.at("decoder_sparse_step").fail(fmt::format("leaves no MoE layer among the {} layers",
                                                    layers));
  }
  return m;
}

}  // namespace kvsim
