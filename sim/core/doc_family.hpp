#pragma once
// A family declared for its documentation only: entries and their typed fields (ParamDoc), as
// `kvsim list`, `kvsim explain` and the JSON Schema show every registry family, for objects
// whose parser is not a registry (the model spec, models/llm/spec_docs.cpp; the workload's
// arrivals and lengths, sim/scenario/sections.cpp). Those parsers take what they accept from
// these declarations where they can (the "type" names of arrivals and lengths), and tests check
// the rest against the shipped files.

#include <string>
#include <utility>
#include <vector>

#include "sim/core/registry.hpp"

namespace kvsim {

class DocFamily final : public RegistryView {
 public:
  DocFamily(std::string family, std::string description, std::vector<RegistryEntryInfo> entries)
      : family_(std::move(family)),
        description_(std::move(description)),
        entries_(std::move(entries)) {}
  const std::string& family() const override { return family_; }
  const std::string& description() const override { return description_; }
  std::vector<RegistryEntryInfo> infos() const override { return entries_; }
  /// The fields of entry `name`; empty when there is none.
  std::vector<ParamDoc> fields(const std::string& name) const {
    for (const auto& e : entries_) {
      if (e.name == name) return e.params;
    }
    return {};
  }

 private:
  std::string family_;
  std::string description_;
  std::vector<RegistryEntryInfo> entries_;
};

}  // namespace kvsim
