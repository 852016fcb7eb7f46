#pragma once
// Mixture of experts: the part of a model's architecture that replaces (some of) its dense MLPs
// with routed experts, and what it weighs. Read from the catalog's "moe" object (parse_moe) or
// from a Hugging Face config (hf_config.cpp); used by LlmSpec's parameter and memory counts and
// by the operation decomposition (moe_operations.cpp).
//
// A MoE layer: a router (a GEMM from the hidden size to `experts` logits, then top-k), the
// `experts_per_token` experts each token is routed to (each a gated or plain MLP of width
// `expert_intermediate`), and `shared_experts` always-on experts (their widths summed into one
// MLP of shared_experts x shared_intermediate, as engines run them). Which layers are MoE: all but
// the first `first_dense_layers` (DeepSeek's first_k_dense_replace), and of those every
// `layer_step`-th (Qwen2-MoE's decoder_sparse_step: layer i, counted from 0, is MoE when
// (i + 1) % layer_step == 0). Dense layers use the model's intermediate_size.
//
// Units: counts and widths (elements); parameter counts exclude biases, like LlmSpec's.

#include <cstdint>

#include "sim/core/config.hpp"

namespace kvsim {

struct MoeSpec {
  std::int64_t experts = 0;              // routed experts per MoE layer; 0: a dense model
  std::int64_t experts_per_token = 0;    // top-k
  std::int64_t expert_intermediate = 0;  // MLP width of one routed expert
  std::int64_t shared_experts = 0;       // always-on experts per MoE layer
  std::int64_t shared_intermediate = 0;  // MLP width of one shared expert
  std::int64_t first_dense_layers = 0;   // leading layers with a dense MLP
  std::int64_t layer_step = 1;           // of the rest, every layer_step-th is MoE

  bool enabled() const { return experts > 0; }
  /// Whether layer `layer` (from 0) has routed experts.
  bool is_moe_layer(std::int64_t layer) const;
  /// MoE layers among `layers`.
  std::int64_t moe_layers(std::int64_t layers) const;
};

/// Reads the catalog's "moe" object; `layers` bounds first_dense_layers and layer_step.
MoeSpec parse_moe(const ConfigNode& node, std::int64_t layers);
Json to_json(const MoeSpec& moe);

/// Weights of one MoE layer's MLP part (router, every routed expert, the shared experts) for
/// `hidden` and a gated (3 matrices) or plain (2) expert MLP.
std::int64_t moe_layer_parameters(const MoeSpec& moe, std::int64_t hidden, bool gated);
/// The same with only `experts_per_token` routed experts: what one token reads.
std::int64_t moe_layer_active_parameters(const MoeSpec& moe, std::int64_t hidden, bool gated);
/// Weights of one layer's routed experts alone (what expert parallelism splits).
std::int64_t routed_expert_parameters(const MoeSpec& moe, std::int64_t hidden, bool gated);

}  // namespace kvsim
