#include "scenario/schema_validator.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace kvsim::testing {
namespace {

using Json = nlohmann::json;

bool has_type(const Json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  if (type == "null") return v.is_null();
  throw std::invalid_argument("unknown JSON Schema type " + type);
}

void check(const Json& s, const Json& v, const std::string& at, std::vector<std::string>& out);

// How many of the alternatives `v` satisfies.
std::size_t matches(const Json& alternatives, const Json& v, const std::string& at) {
  std::size_t n = 0;
  for (const Json& alt : alternatives) {
    std::vector<std::string> errors;
    check(alt, v, at, errors);
    n += errors.empty() ? 1 : 0;
  }
  return n;
}

void check_object(const Json& s, const Json& v, const std::string& at,
                  std::vector<std::string>& out) {
  const Json properties = s.value("properties", Json::object());
  for (const auto& item : v.items()) {
    const std::string here = at + "/" + item.key();
    if (properties.contains(item.key())) {
      check(properties.at(item.key()), item.value(), here, out);
    } else if (s.contains("additionalProperties") && s.at("additionalProperties") == false) {
      out.push_back(here + ": not a field the schema allows");
    }
  }
  for (const Json& key : s.value("required", Json::array())) {
    if (!v.contains(key.get<std::string>())) out.push_back(at + ": lacks " + key.dump());
  }
}

void check(const Json& s, const Json& v, const std::string& at, std::vector<std::string>& out) {
  static const std::vector<std::string> known{
      "$schema", "$id", "title", "description", "type", "properties", "additionalProperties",
      "required", "enum", "const", "oneOf", "anyOf", "items", "minimum"};
  for (const auto& item : s.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      throw std::invalid_argument("schema keyword outside the tested subset: " + item.key());
    }
  }
  if (s.contains("type") && !has_type(v, s.at("type").get<std::string>())) {
    out.push_back(fmt::format("{}: {} is not of type {}", at, v.dump(), s.at("type").dump()));
    return;
  }
  if (s.contains("const") && s.at("const") != v) out.push_back(at + ": not " + s.at("const").dump());
  if (s.contains("enum")) {
    const Json& e = s.at("enum");
    if (std::find(e.begin(), e.end(), v) == e.end()) {
      out.push_back(fmt::format("{}: {} is not one of {}", at, v.dump(), e.dump()));
    }
  }
  if (s.contains("minimum") && v.is_number() && v.get<double>() < s.at("minimum").get<double>()) {
    out.push_back(at + ": below the minimum " + s.at("minimum").dump());
  }
  if (s.contains("oneOf") && matches(s.at("oneOf"), v, at) != 1) {
    out.push_back(fmt::format("{}: matches {} of oneOf, not exactly one", at,
                              matches(s.at("oneOf"), v, at)));
    for (const Json& alt : s.at("oneOf")) {  // the entry its "type" names says why
      const Json type = alt.value("properties", Json::object()).value("type", Json::object());
      if (v.is_object() && v.contains("type") && type.value("const", Json()) == v.at("type")) {
        check(alt, v, at, out);
      }
    }
  }
  if (s.contains("anyOf") && matches(s.at("anyOf"), v, at) == 0) {
    out.push_back(at + ": matches none of anyOf");
  }
  if (v.is_object()) check_object(s, v, at, out);
  if (v.is_array() && s.contains("items")) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      check(s.at("items"), v[i], fmt::format("{}/{}", at, i), out);
    }
  }
}

}  // namespace

std::vector<std::string> schema_violations(const Json& schema, const Json& value) {
  std::vector<std::string> out;
  check(schema, value, "", out);
  return out;
}

}  // namespace kvsim::testing
