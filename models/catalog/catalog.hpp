#pragma once
// The shipped catalog of LLM architectures and GPU spec sheets, and how a scenario names one.
//
// The JSON files under models/catalog/{llms,gpus}/ are compiled into the binary. A scenario's
// "model" may be a catalog name ("llama-2-7b"), {"hf_config": "path/config.json"},
// {"file": "path/spec.json"} in kvsim's format, or an inline spec; "gpu" a name or an inline
// spec. Relative paths are taken from the scenario file's directory.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/compute/gpu_spec.hpp"
#include "models/llm/llm_spec.hpp"

namespace kvsim::catalog {

struct EmbeddedFile {
  std::string_view path;  // "llms/llama-2-7b.json"
  std::string_view text;
};
std::span<const EmbeddedFile> embedded_files();  // generated at build time

std::vector<std::string> llm_names();
std::vector<std::string> gpu_names();
/// A shipped spec by name; throws std::out_of_range for unknown names.
LlmSpec llm(const std::string& name);
GpuSpec gpu(const std::string& name);
/// Names of the embedded calibration/profiles/*.json files, and one of them as a document.
std::vector<std::string> profile_names();
ConfigDocument profile_document(const std::string& name);  // throws std::out_of_range
/// Names of the embedded calibration/profiles/engines/*.json files, and one as a document.
std::vector<std::string> engine_profile_names();
ConfigDocument engine_profile_document(const std::string& name);  // throws std::out_of_range

/// Reads a scenario's "model" value (name, hf_config, file or inline).
LlmSpec resolve_llm(const ConfigNode& node);
/// Reads a scenario's "gpu" value (name or inline).
GpuSpec resolve_gpu(const ConfigNode& node);


}  // namespace kvsim::catalog
