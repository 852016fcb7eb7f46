#include "models/llm/moe.hpp"

#include <fmt/format.h>

#include "models/llm/limits.hpp"

namespace kvsim {
namespace {

std::int64_t at_most(const ConfigNode& node, const std::string& key, std::int64_t value,
                     std::int64_t max) {
  if (value > max) {
    node.at(key).fail(fmt::format("must be at most {} (kvsim's limit), got {}", max, value));
  }
  return value;
}

// One expert MLP of `width`: gate and up (or up alone) and down.
std::int64_t mlp(std::int64_t hidden, std::int64_t width, bool gated) {
  return (gated ? 3 : 2) * hidden * width;
}

}  // namespace

bool MoeSpec::is_moe_layer(std::int64_t layer) const {
  return enabled() && layer >= first_dense_layers && (layer + 1) % layer_step == 0;
}

std::int64_t MoeSpec::moe_layers(std::int64_t layers) const {
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < layers; ++i) n += is_moe_layer(i) ? 1 : 0;
  return n;
}

MoeSpec parse_moe(const ConfigNode& node, std::int64_t layers) {
  if (!node.json().is_object()) node.fail("\"moe\" is a JSON object");
  MoeSpec m;
  m.experts = at_most(node, "experts", node.count("experts", 2), limits::kExperts);
  m.experts_per_token = node.count("experts_per_token");
  if (m.experts_per_token > m.experts) {
    node.at("experts_per_token").fail(fmt::format(
        "a token cannot be routed to {} of {} experts", m.experts_per_token, m.experts));
  }
  m.expert_intermediate = at_most(node, "expert_intermediate_size",
                                  node.count("expert_intermediate_size"), limits::kWidth);
  if (m.experts * m.expert_intermediate > limits::kExpertWidth) {
    node.at("experts").fail(fmt::format("{} experts of {} make a width beyond kvsim's limit of "
                                        "{}", m.experts, m.expert_intermediate,
                                        limits::kExpertWidth));
  }
  m.shared_experts = node.count_or("shared_experts", 0, 0);
  if (m.shared_experts > 0) {
    m.shared_intermediate = at_most(node, "shared_expert_intermediate_size",
                                    node.count("shared_expert_intermediate_size"),
                                    limits::kWidth);
  }
  if (m.shared_experts * m.shared_intermediate > limits::kWidth) {
    node.at("shared_experts").fail(fmt::format("{} shared experts of {} make a width beyond "
                                               "kvsim's limit of {}", m.shared_experts,
                                               m.shared_intermediate, limits::kWidth));
  }
  m.first_dense_layers = node.count_or("first_dense_layers", 0, 0);
  m.layer_step = node.count_or("layer_step", 1);
  if (m.first_dense_layers >= layers || m.layer_step > layers) {
    node.fail(fmt::format("first_dense_layers {} and layer_step {} leave no MoE layer among "
                          "the model's {} layers", m.first_dense_layers, m.layer_step, layers));
  }
  if (m.moe_layers(layers) == 0) {
    node.at("layer_step").fail(fmt::format("leaves no MoE layer among the model's {} layers",
                                           layers));
  }
  node.finish();
  return m;
}

Json to_json(const MoeSpec& m) {
  Json j{{"experts", m.experts},
         {"experts_per_token", m.experts_per_token},
         {"expert_intermediate_size", m.expert_intermediate},
         {"shared_experts", m.shared_experts},
         {"first_dense_layers", m.first_dense_layers},
         {"layer_step", m.layer_step}};
  if (m.shared_experts > 0) j["shared_expert_intermediate_size"] = m.shared_intermediate;
  return j;
}

std::int64_t routed_expert_parameters(const MoeSpec& m, std::int64_t hidden, bool gated) {
  return m.experts * mlp(hidden, m.expert_intermediate, gated);
}

std::int64_t moe_layer_parameters(const MoeSpec& m, std::int64_t hidden, bool gated) {
  const std::int64_t router = hidden * m.experts;
  return router + routed_expert_parameters(m, hidden, gated) +
         mlp(hidden, m.shared_experts * m.shared_intermediate, gated);
}

std::int64_t moe_layer_active_parameters(const MoeSpec& m, std::int64_t hidden, bool gated) {
  const std::int64_t router = hidden * m.experts;
  return router + m.experts_per_token * mlp(hidden, m.expert_intermediate, gated) +
         mlp(hidden, m.shared_experts * m.shared_intermediate, gated);
}

}  // namespace kvsim
