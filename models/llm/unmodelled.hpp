#pragma once
// Architecture features that change an LLM's cost or memory but that kvsim does not model yet:
// mixture of experts outside the model types that import it, weights quantised in the
// checkpoint. A spec that turns one on is refused
// by name rather than priced as the dense model it resembles (Mixtral-8x7B is not Mistral-7B).
//
// The Hugging Face importer and the catalog reader call this before reading anything else, so
// the refusal names the feature rather than some later inconsistency. Sliding windows and
// latent attention are modelled (LlmSpec::sliding_window, mla.hpp).

#include "sim/core/config.hpp"

namespace kvsim {

/// Throws InputError at the first key of the object `node` that turns on an unmodelled feature.
/// A key whose value is null, false, 0 or empty leaves the feature off (dense DeepSeek configs
/// carry "n_routed_experts": null) and is accepted. `moe_modelled`: the caller reads the
/// mixture-of-experts keys itself (the importer's MoE model types), so they are not refused.
void refuse_unmodelled_features(const ConfigNode& node, bool moe_modelled = false);

}  // namespace kvsim
