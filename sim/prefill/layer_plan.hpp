#pragma once
// The kinds of layer a model mixes, for strategies that price each layer as its own kind
// instead of the averaged layer (Operation::layer_share): dense and MoE MLPs (DeepSeek's first
// dense layers, Qwen's decoder_sparse_step) and windowed and full attention (Gemma-2/3's
// local/global alternation). Each kind is the model with every layer of that kind, so the
// decomposition prices it whole (layer_share 1); `of_layer` says which kind each layer is.
//
// Who calls it: the synchronous strategies tp and tsp (impl/synchronous.cpp). A model that
// mixes nothing has one kind, the model itself, so its costs are exactly the averaged ones.
// Over all layers the kinds' costs sum to layers x the averaged layer's (the shares are the
// kinds' layer counts over the layers), up to floating-point rounding.

#include <vector>

#include "models/llm/llm_spec.hpp"

namespace kvsim::prefill {

struct LayerPlan {
  std::vector<LlmSpec> kinds;  // each the model with every layer of one kind
  std::vector<int> of_layer;   // the kind of layer i (from 0)
};

/// The model's layer kinds in a fixed order (dense before MoE, windowed before full), those no
/// layer has left out.
LayerPlan layer_plan(const LlmSpec& model);

/// Whether layer `layer` (from 0) attends over the sliding window.
bool windowed_layer(const LlmSpec& model, std::int64_t layer);

}  // namespace kvsim::prefill
