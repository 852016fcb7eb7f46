#pragma once
// The model spec's fields as `kvsim explain model` and `kvsim list` show them: kvsim's catalog
// format (models/catalog/llms/*.json, {"file": ...} or an inline "model" object), read by
// parse_llm_spec (llm_spec.cpp). Documentation only: nothing is built from this view.

#include "sim/core/registry.hpp"

namespace kvsim {

/// The family "model": entry "spec" (every field of a spec) and "mla" (the latent-attention
/// object's fields).
const RegistryView& model_spec_docs();

}  // namespace kvsim
