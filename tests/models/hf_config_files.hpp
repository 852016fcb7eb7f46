#pragma once
// Test helpers shared by the Hugging Face import tests: a config.json under
// tests/models/hf_configs/ (each in the shape of the published one it is named after), or one
// given as text, imported as `import_hf_config` imports it for a scenario.

#include <string>

#include "models/llm/llm_spec.hpp"
#include "sim/core/config.hpp"

namespace kvsim::hf_test {

inline LlmSpec import_file(const std::string& file) {
  const auto doc = ConfigDocument::load_file(std::string(KVSIM_SOURCE_DIR) +
                                             "/tests/models/hf_configs/" + file);
  return import_hf_config(doc.root(), "test-model");
}

inline LlmSpec import(const std::string& text) {
  const auto doc = ConfigDocument::parse(text, "config.json");
  return import_hf_config(doc.root(), "test-model");
}

}  // namespace kvsim::hf_test
