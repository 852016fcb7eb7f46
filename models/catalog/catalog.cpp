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
      return ConfigDocument::parse(std::string(f.text), "models/catalog/" + path);
    }
  }
  throw std::out_of_range(path);
}

std::string resolve_path(const ConfigNode& node, const std::string& path) {
  const std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  const std::string dir = directory_of(node);
  return dir.empty() ? path : (std::filesystem::path(dir) / p).string();
}

}  // namespace

std::vector<std::string> llm_names() { return names_under("llms/"); }
std::vector<std::string> gpu_names() { return names_under("gpus/"); }

LlmSpec llm(const std::string& name) {
  const ConfigDocument doc = document("llms/" + name + ".json");
  return parse_llm_spec(doc.root());
}

GpuSpec gpu(const std::string& name) {
  const ConfigDocument doc = document("gpus/" + name + ".json");
  return parse_gpu_spec(doc.root());
}

std::string directory_of(const ConfigNode& node) {
  return std::filesystem::path(node.file()).parent_path().string();
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
    const std::string path = resolve_path(node, node.string("hf_config"));
    const std::string name = node.string_or("name", std::filesystem::path(path).parent_path()
                                                        .filename().string());
    node.finish();
    const ConfigDocument doc = ConfigDocument::load_file(path);
    return import_hf_config(doc.root(), name.empty() ? "imported" : name);
  }
  if (node.json().is_object() && node.has("file")) {
    const std::string path = resolve_path(node, node.string("file"));
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
