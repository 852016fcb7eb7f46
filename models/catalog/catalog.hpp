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
/// Names of the embedded predictors/*.json files (kvsim train-predictor), and one as a document.
std::vector<std::string> predictor_names();
ConfigDocument predictor_document(const std::string& name);  // throws std::out_of_range

/// A profile or predictor a scenario names, NAME or PATH, read the one way every such field
/// is: a shipped document when `shipped` lists the value (`load` reads it), else the file at
/// the value when it has a '/' or ends in .json (relative to the file naming it); anything else
/// fails at `field`, naming the shipped ones (with a "did you mean") and that a path works too.
/// `what` names the kind for that message ("engine profile"). Called by the collectives,
/// compute (calibrated), engine and KVR-P partitioner readers.
ConfigDocument shipped_or_file(const ConfigNode& field, std::string_view what,
                               const std::vector<std::string>& shipped,
                               ConfigDocument (*load)(const std::string& name));

/// Reads a scenario's "model" value (name, hf_config, file or inline).
LlmSpec resolve_llm(const ConfigNode& node);
/// Reads a scenario's "gpu" value (name or inline).
GpuSpec resolve_gpu(const ConfigNode& node);


}  // namespace kvsim::catalog
