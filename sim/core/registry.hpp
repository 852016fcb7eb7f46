#pragma once
// Registries: pluggable implementations chosen by name from JSON.
//
// Each family (topology, partitioner, prefill strategy, compute model, ...) owns one
// Registry<Product, Args...>, filled by explicit add() calls in that family's builtin.cpp; no
// static-initialisation tricks. An entry has a name, a one-line summary, documented parameters
// (printed by `kvsim explain`) and a factory that reads its Params from a ConfigNode.
// create() reads the node's "type", finds the entry (or fails with the valid names and a
// "did you mean"), builds the product, then rejects keys the factory did not read.

#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/core/config.hpp"

namespace kvsim {

/// One documented parameter of a registered implementation.
struct ParamDoc {
  std::string name;
  std::string type;           // "count", "ratio", "duration", "bandwidth", "string", ...
  std::string default_value;  // "" when required
  std::string doc;
};

/// What `kvsim list` and `kvsim explain` show of any family, whatever its product type.
struct RegistryEntryInfo {
  std::string name;
  std::string summary;
  std::vector<ParamDoc> params;
};

class RegistryView {
 public:
  virtual ~RegistryView() = default;
  virtual const std::string& family() const = 0;
  virtual const std::string& description() const = 0;
  virtual std::vector<RegistryEntryInfo> infos() const = 0;
};

template <class Product, class... Args>
class Registry final : public RegistryView {
 public:
  using Factory = std::function<Product(const ConfigNode&, Args...)>;
  struct Entry {
    RegistryEntryInfo info;
    Factory make;
  };

  Registry(std::string family, std::string description)
      : family_(std::move(family)), description_(std::move(description)) {}

  void add(std::string name, std::string summary, std::vector<ParamDoc> params, Factory make) {
    entries_.push_back(Entry{{std::move(name), std::move(summary), std::move(params)},
                             std::move(make)});
  }

  const Entry* find(const std::string& name) const {
    for (const Entry& e : entries_) {
      if (e.info.name == name) return &e;
    }
    return nullptr;
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const Entry& e : entries_) out.push_back(e.info.name);
    return out;
  }

  /// Looks the name up at `type_node`, failing there with the valid names.
  const Entry& lookup(const ConfigNode& type_node) const {
    const std::string name = type_node.as_string();
    if (const Entry* e = find(name)) return *e;
    type_node.fail(fmt::format("unknown {} '{}'; {}", family_, name,
                               valid_values_hint(name, names())));
  }

  /// Builds the implementation named by node["type"] with its parameters from `node`.
  Product create(const ConfigNode& node, Args... args) const {
    const Entry& entry = lookup(node.at("type"));
    Product product = entry.make(node, args...);
    node.finish();
    return product;
  }

  const std::string& family() const override { return family_; }
  const std::string& description() const override { return description_; }
  std::vector<RegistryEntryInfo> infos() const override {
    std::vector<RegistryEntryInfo> out;
    for (const Entry& e : entries_) out.push_back(e.info);
    return out;
  }

 private:
  std::string family_;
  std::string description_;
  std::vector<Entry> entries_;
};

}  // namespace kvsim
