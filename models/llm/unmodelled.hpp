#pragma once
// Architecture features that change an LLM's cost or memory but that kvsim does not model yet:
// mixture of experts outside the model types that import it, multi-head latent attention (a compressed KV cache), weights quantised in
// the checkpoint, attention layers of other kinds than full. A spec that turns one on is refused
// by name rather than priced as the dense model it resembles (Mixtral-8x7B is not Mistral-7B).
//
// The Hugging Face importer and the catalog reader call this before reading anything else, so
// the refusal names the feature rather than some later inconsistency. Sliding windows are not
// refused here: LlmSpec::sliding_window records them and the operations refuse contexts beyond
// the window (below it, full causal attention is exact).

#include "sim/core/config.hpp"

namespace kvsim {

/// Throws InputError at the first key of the object `node` that turns on an unmodelled feature.
/// A key whose value is null, false, 0 or empty leaves the feature off (dense DeepSeek configs
/// carry "n_routed_experts": null) and is accepted. `moe_modelled`: the caller reads the
/// mixture-of-experts keys itself (the importer's MoE model types), so they are not refused.
void refuse_unmodelled_features(const ConfigNode& node, bool moe_modelled = false);

}  // namespace kvsim
