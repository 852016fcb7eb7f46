#include "sim/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/input_file.hpp"
#include "sim/core/json_input.hpp"
#include "sim/core/units.hpp"

namespace kvsim {

// ---------------------------------------------------------------------------------------------
// ConfigNode

ConfigNode::ConfigNode(const Json* value, std::string file, Json::json_pointer pointer)
    : value_(value),
      file_(std::make_shared<const std::string>(std::move(file))),
      directory_(std::make_shared<const std::string>()),
      pointer_(std::move(pointer)),
      used_(std::make_shared<std::set<std::string>>()) {}

void ConfigNode::fail(const std::string& message) const {
  throw InputError(*file_, pointer(), message);
}

std::string ConfigNode::type_name() const {
  if (value_->is_number_integer() || value_->is_number_unsigned()) return "an integer";
  if (value_->is_number()) return "a number";
  return fmt::format("{} {}", value_->type_name(), short_dump(*value_));
}

void ConfigNode::expect(bool ok, const char* what) const {
  if (!ok) fail(fmt::format("expected {}, got {}", what, type_name()));
}

bool ConfigNode::has(const std::string& key) const {
  expect(value_->is_object(), "an object");
  return value_->contains(key);
}

ConfigNode ConfigNode::at(const std::string& key) const {
  if (auto child = find(key)) return *child;
  std::vector<std::string> present;
  for (const auto& [k, _] : value_->items()) present.push_back(k);
  const std::string typo = closest_match(key, present);
  fail(typo.empty() ? fmt::format("missing required key '{}'", key)
                    : fmt::format("missing required key '{}' (is '{}' a misspelling of it?)",
                                  key, typo));
}

std::optional<ConfigNode> ConfigNode::find(const std::string& key) const {
  expect(value_->is_object(), "an object");
  used_->insert(key);
  const auto it = value_->find(key);
  if (it == value_->end()) return std::nullopt;
  ConfigNode child(&*it, *file_, pointer_ / key);
  child.file_ = file_;
  child.directory_ = directory_;
  return child;
}

void ConfigNode::finish(const std::vector<std::string>& also_allowed) const {
  if (!value_->is_object()) return;
  std::vector<std::string> known(used_->begin(), used_->end());
  known.insert(known.end(), also_allowed.begin(), also_allowed.end());
  for (const auto& [key, _] : value_->items()) {
    if (used_->count(key) != 0) continue;
    if (std::find(also_allowed.begin(), also_allowed.end(), key) != also_allowed.end()) continue;
    const std::string close = closest_match(key, known);
    std::string message = fmt::format("unknown key '{}'", key);
    message += close.empty() ? fmt::format(" (known keys here: {})", fmt::join(known, ", "))
                             : fmt::format("; did you mean '{}'?", close);
    throw InputError(*file_, (pointer_ / key).to_string(), message);
  }
}

std::vector<ConfigNode> ConfigNode::elements() const {
  expect(value_->is_array(), "an array");
  std::vector<ConfigNode> out;
  out.reserve(value_->size());
  for (std::size_t i = 0; i < value_->size(); ++i) {
    ConfigNode child(&(*value_)[i], *file_, pointer_ / i);
    child.file_ = file_;
    child.directory_ = directory_;
    out.push_back(std::move(child));
  }
  return out;
}

std::size_t ConfigNode::size() const {
  expect(value_->is_array() || value_->is_object(), "an array or an object");
  return value_->size();
}

std::string ConfigNode::as_string() const {
  expect(value_->is_string(), "a string");
  return value_->get<std::string>();
}

bool ConfigNode::as_bool() const {
  expect(value_->is_boolean(), "true or false");
  return value_->get<bool>();
}

double ConfigNode::as_number() const {
  expect(value_->is_number(), "a number");
  const double v = value_->get<double>();
  if (!std::isfinite(v)) fail("expected a finite number");
  return v;
}

std::int64_t ConfigNode::as_integer() const {
  if (value_->is_number_float()) {
    const double v = value_->get<double>();
    if (v == std::floor(v) && std::abs(v) < 9e15) return static_cast<std::int64_t>(v);
    fail(fmt::format("expected an integer, got {}", short_dump(*value_)));
  }
  expect(value_->is_number_integer() || value_->is_number_unsigned(), "an integer");
  if (value_->is_number_unsigned() && value_->get<std::uint64_t>() > (1ULL << 62)) {
    fail("integer is too large");
  }
  return value_->get<std::int64_t>();
}

std::string ConfigNode::as_one_of(const std::vector<std::string>& valid) const {
  const std::string v = as_string();
  if (std::find(valid.begin(), valid.end(), v) == valid.end()) {
    fail(fmt::format("'{}' is not allowed here; {}", v, valid_values_hint(v, valid)));
  }
  return v;
}

namespace {
template <class Parse>
double parse_unit(const ConfigNode& node, Parse parse, const char* example) {
  const Json& v = node.json();
  if (v.is_number()) {
    // Keep the unit parser's wording, which suggests the fix.
    try {
      parse(v.dump());
    } catch (const UnitError& e) {
      node.fail(e.what());
    }
  }
  if (!v.is_string()) {
    node.fail(fmt::format("expected a quantity with a unit such as \"{}\", got {} {}", example,
                          v.type_name(), short_dump(v)));
  }
  try {
    return parse(v.get<std::string>());
  } catch (const UnitError& e) {
    node.fail(e.what());
  }
}
}  // namespace

double ConfigNode::as_seconds() const { return parse_unit(*this, parse_duration, "5us"); }
Duration ConfigNode::as_duration() const {
  const double s = as_seconds();
  try {
    return from_seconds(s, "this duration");
  } catch (const std::domain_error& e) {
    fail(e.what());
  } catch (const InputError& e) {
    fail(e.message());  // past the simulable range: name this field
  }
}
double ConfigNode::as_bytes() const { return parse_unit(*this, parse_bytes, "80GiB"); }
double ConfigNode::as_bandwidth() const { return parse_unit(*this, parse_bandwidth, "300GB/s"); }
double ConfigNode::as_flop_rate() const {
  return parse_unit(*this, parse_flop_rate, "312TFLOP/s");
}
double ConfigNode::as_rate() const { return parse_unit(*this, parse_rate, "4/s"); }

std::string ConfigNode::string_or(const std::string& key, const std::string& fallback) const {
  const auto child = find(key);
  return child ? child->as_string() : fallback;
}

bool ConfigNode::boolean_or(const std::string& key, bool fallback) const {
  const auto child = find(key);
  return child ? child->as_bool() : fallback;
}

std::int64_t ConfigNode::count(const std::string& key, std::int64_t min) const {
  const ConfigNode child = at(key);
  const std::int64_t v = child.as_integer();
  if (v < min) child.fail(fmt::format("must be at least {}, got {}", min, v));
  return v;
}

std::int64_t ConfigNode::count_or(const std::string& key, std::int64_t fallback,
                                  std::int64_t min) const {
  return has(key) ? count(key, min) : (used_->insert(key), fallback);
}

double ConfigNode::number(const std::string& key, double min, double max) const {
  const ConfigNode child = at(key);
  const double v = child.as_number();
  if (v < min || v > max) child.fail(fmt::format("must be in [{}, {}], got {}", min, max, v));
  return v;
}

double ConfigNode::number_or(const std::string& key, double fallback, double min,
                             double max) const {
  return has(key) ? number(key, min, max) : (used_->insert(key), fallback);
}

std::string ConfigNode::one_of(const std::string& key, const std::vector<std::string>& valid) const {
  return at(key).as_one_of(valid);
}

std::string ConfigNode::one_of_or(const std::string& key, const std::string& fallback,
                                  const std::vector<std::string>& valid) const {
  const auto child = find(key);
  return child ? child->as_one_of(valid) : fallback;
}

// ---------------------------------------------------------------------------------------------
// ConfigDocument

std::string ConfigNode::resolve_path(const std::string& path) const {
  const std::filesystem::path p(path);
  if (p.is_absolute() || directory_->empty()) return path;
  return (std::filesystem::path(*directory_) / p).lexically_normal().string();
}

ConfigDocument::ConfigDocument(Json value, std::string name, std::optional<std::string> directory)
    : json_(std::move(value)),
      name_(std::move(name)),
      directory_(directory ? *directory
                           : std::filesystem::path(name_).parent_path().string()) {}

ConfigNode ConfigDocument::root() const {
  ConfigNode node(&json_, name_, Json::json_pointer());
  node.directory_ = std::make_shared<const std::string>(directory_);
  return node;
}

ConfigDocument ConfigDocument::load_file(const std::string& path) {
  return parse(read_input_file(path), path);
}

ConfigDocument ConfigDocument::parse(const std::string& text, const std::string& name) {
  return ConfigDocument(parse_json(text, name), name);
}

void ConfigDocument::apply_override(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || assignment.empty() || assignment[0] != '/') {
    throw InputError(name_, "", fmt::format("override '{}' must look like /json/pointer=value",
                                            assignment));
  }
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  Json value;
  try {
    value = parse_json(text, "--set " + path);
  } catch (const InputError&) {
    value = text;  // a bare word such as kvr or 300GB/s is a string
    try {
      (void)value.dump();  // JSON strings are UTF-8; writing results.json would fail later
    } catch (const Json::type_error&) {
      throw InputError(name_, path, "the --set value is not valid UTF-8 text");
    }
  }
  set_at_pointer(json_, path, std::move(value), name_, /*may_create=*/false);
}

}  // namespace kvsim
