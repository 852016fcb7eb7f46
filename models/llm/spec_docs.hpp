#pragma once
// The model spec's fields as `kvsim explain model|mla|moe` and `kvsim list` show them: kvsim's
// catalog format (models/catalog/llms/*.json, {"file": ...} or an inline "model" object), read
// by parse_llm_spec (llm_spec.cpp), parse_mla and parse_moe. A documentation-only family
// (sim/core/doc_family.hpp, the one shape sim/scenario/sections.cpp uses for arrivals and
// lengths too); tests/models/spec_docs_test.cpp checks it against the parser both ways.

#include "sim/core/registry.hpp"

namespace kvsim {

/// The family "model": entries "spec" (every field of a spec), "mla" (the latent-attention
/// object's fields) and "moe" (the mixture-of-experts object's fields).
const RegistryView& model_spec_docs();

}  // namespace kvsim
