#include "tools/api/overrides.hpp"

#include <fmt/format.h>

#include "sim/scenario/json_schema.hpp"
#include "tools/api/registries.hpp"

namespace kvsim::api {
namespace {

bool exists(const Json& document, const std::string& pointer) {
  try {
    return document.contains(Json::json_pointer(pointer));
  } catch (const Json::exception&) {
    return false;  // not a pointer, or a non-numeric token into an array: apply_override says so
  }
}

// The prefixes of `pointer` that the document lacks, outermost first, when the format allows
// each of them (a field of an object that exists or is itself added); empty otherwise.
std::vector<std::string> fields_to_add(const Json& document, const Json& schema,
                                       const std::string& pointer) {
  std::vector<std::string> missing;
  Json::json_pointer p;
  try {
    p = Json::json_pointer(pointer);
  } catch (const Json::exception&) {
    return {};  // apply_override names the malformed pointer
  }
  while (!p.empty() && !exists(document, p.to_string())) {
    missing.insert(missing.begin(), p.to_string());
    p.pop_back();
  }
  if (!p.empty() && !document.at(p).is_object()) return {};  // inside a value, not an object
  if (p.empty() && !document.is_object()) return {};
  for (const std::string& field : missing) {
    if (schema_at(schema, field).empty()) return {};
  }
  return missing;
}

// A key the format does not have where the document has an object: named with what the
// format allows there (apply_override would name only what the file holds).
void refuse_unknown(const ConfigDocument& doc, const Json& schema, const std::string& pointer) {
  Json::json_pointer p;
  try {
    p = Json::json_pointer(pointer);
  } catch (const Json::exception&) {
    return;
  }
  const std::string key = p.back();
  const Json::json_pointer parent = p.parent_pointer();
  if (!exists(doc.json(), parent.to_string()) || !doc.json().at(parent).is_object()) return;
  const std::vector<std::string> allowed = keys_at(schema, parent.to_string());
  if (allowed.empty()) return;  // a free-form object, or not an object of the format
  throw InputError(doc.name(), pointer,
                   fmt::format("the path does not exist, and the {} format has no field '{}' "
                               "there to add; {}",
                               doc.json().contains("axes") ? "sweep" : "scenario", key,
                               valid_values_hint(key, allowed)));
}

}  // namespace

const Json& format_schema(DocumentKind kind) {
  static const Json scenario = json_schema(DocumentKind::kScenario, all_registries());
  static const Json sweep = json_schema(DocumentKind::kSweep, all_registries());
  return kind == DocumentKind::kScenario ? scenario : sweep;
}

void apply_overrides(ConfigDocument& doc, const std::vector<std::string>& overrides) {
  for (const std::string& o : overrides) {
    const std::string pointer = o.substr(0, o.find('='));
    if (o.find('=') != std::string::npos && !pointer.empty() && pointer[0] == '/' &&
        !exists(doc.json(), pointer)) {
      const DocumentKind kind =
          doc.json().contains("axes") ? DocumentKind::kSweep : DocumentKind::kScenario;
      const std::vector<std::string> add = fields_to_add(doc.json(), format_schema(kind), pointer);
      if (add.empty()) refuse_unknown(doc, format_schema(kind), pointer);
      if (!add.empty()) {
        Json json = doc.json();
        for (const std::string& field : add) {
          set_at_pointer(json, field, field == add.back() ? Json() : Json::object(), doc.name(),
                         /*may_create=*/true);
        }
        doc = ConfigDocument(std::move(json), doc.name(), doc.directory());  // paths as before
      }
    }
    doc.apply_override(o);  // replaces the value (new or old), or names what is wrong
  }
}

}  // namespace kvsim::api
