#include "models/catalog/catalog.hpp"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

namespace kvsim::catalog {
namespace {

std::vector<std::string> names_under(std::string_view folder) {
  std::vector<std::string> out;
  for (const EmbeddedFile& f : embedded_files()) {
    if (f.path.substr(0, folder.size()) == folder) {
      std::string_view stem = f.path.substr(folder.size());
      stem.remove_suffix(5);  // ".json"
      out.emplace_back(stem);
    }
  }
  return out;
}

ConfigDocument document(const std::string& path) {
  for (const EmbeddedFile& f : embedded_files()) {
    if (f.path == path) {
      // Named as in the checkout, so messages point at the shipped file.
      const bool profile = path.rfind("profiles/", 0) == 0;
      const bool engine = path.rfind("engines/", 0) == 0;
      const bool predictor = path.rfind("predictors/", 0) == 0;
      return ConfigDocument::parse(std::string(f.text),
                                   profile     ? "calibration/" + path
                                   : engine    ? "calibration/profiles/" + path
                                   : predictor ? path
                                               : "models/catalog/" + path);
    }
  }
  throw std::out_of_range(path);
}

}  // namespace

std::vector<std::string> llm_names() { return names_under("llms/"); }
std::vector<std::string> gpu_names() { return names_under("gpus/"); }
std::vector<std::string> profile_names() { return names_under("profiles/"); }
ConfigDocument profile_document(const std::string& name) {
  return document("profiles/" + name + ".json");
}
std::vector<std::string> engine_profile_names() { return names_under("engines/"); }
ConfigDocument engine_profile_document(const std::string& name) {
  return document("engines/" + name + ".json");
}

std::vector<std::string> predictor_names() { return names_under("predictors/"); }
ConfigDocument predictor_document(const std::string& name) {
  return document("predictors/" + name + ".json");
}

ConfigDocument shipped_or_file(const ConfigNode& field, std::string_view what,
                               const std::vector<std::string>& shipped,
                               ConfigDocument (*load)(const std::string& name)) {
  const std::string value = field.as_string();
  if (std::find(shipped.begin(), shipped.end(), value) != shipped.end()) return load(value);
  if (value.find('/') != std::string::npos || value.ends_with(".json")) {
    return ConfigDocument::load_file(field.resolve_path(value));
  }
  field.fail(fmt::format("no shipped {} '{}'; {}, or give a path to a .json file", what, value,
                         shipped.empty() ? std::string("none is shipped")
                                         : valid_values_hint(value, shipped)));
}

LlmSpec llm(const std::string& name) {
  const ConfigDocument doc = document("llms/" + name + ".json");
  return parse_llm_spec(doc.root());
}

GpuSpec gpu(const std::string& name) {
  const ConfigDocument doc = document("gpus/" + name + ".json");
  return parse_gpu_spec(doc.root());
}

LlmSpec resolve_llm(const ConfigNode& node) {
  if (node.json().is_string()) {
    const std::string name = node.as_string();
    const auto names = llm_names();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      node.fail(fmt::format("unknown model '{}'; {} (or give {{\"hf_config\": \"config.json\"}})",
                            name, valid_values_hint(name, names)));
    }
    return llm(name);
  }
  if (node.json().is_object() && node.has("hf_config")) {
    const std::string path = node.resolve_path(node.string("hf_config"));
    const std::string name = node.string_or("name", std::filesystem::path(path).parent_path()
                                                        .filename().string());
    node.finish();
    const ConfigDocument doc = ConfigDocument::load_file(path);
    return import_hf_config(doc.root(), name.empty() ? "imported" : name);
  }
  if (node.json().is_object() && node.has("file")) {
    const std::string path = node.resolve_path(node.string("file"));
    node.finish();
    const ConfigDocument doc = ConfigDocument::load_file(path);
    return parse_llm_spec(doc.root());
  }
  if (!node.json().is_object()) {
    node.fail("expected a model name such as \"llama-2-7b\", {\"hf_config\": path}, "
              "{\"file\": path} or an inline spec object");
  }
  return parse_llm_spec(node);
}

GpuSpec resolve_gpu(const ConfigNode& node) {
  if (node.json().is_string()) {
    const std::string name = node.as_string();
    const auto names = gpu_names();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      node.fail(fmt::format("unknown GPU '{}'; {}", name, valid_values_hint(name, names)));
    }
    return gpu(name);
  }
  if (!node.json().is_object()) {
    node.fail("expected a GPU name such as \"a100-sxm4-80gb\" or an inline spec object");
  }
  return parse_gpu_spec(node);
}

}  // namespace kvsim::catalog
