#include "sim/scenario/json_schema.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <fmt/format.h>

namespace kvsim {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(' ');
  const auto e = s.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t at = s.find(sep); at != std::string::npos; at = s.find(sep, start)) {
    out.push_back(trim(s.substr(start, at - start)));
    start = at + 1;
  }
  out.push_back(trim(s.substr(start)));
  return out;
}

// A ParamDoc type word that names a kind of value rather than a literal choice.
bool is_kind(const std::string& word) {
  static const std::vector<std::string> kinds{
      "count",    "tokens", "ratio",     "number", "bool", "string", "path",  "name",
      "object",   "array",  "duration",  "bytes",  "rate", "bandwidth", "flop rate", "..."};
  return std::find(kinds.begin(), kinds.end(), word) != kinds.end() ||
         word.rfind("count", 0) == 0;
}

bool is_literal(const std::string& word) {
  if (word.empty() || is_kind(word)) return false;
  return std::all_of(word.begin(), word.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) != 0 ||
           std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
}

Json kind_schema(const std::string& t) {
  if (t.rfind("count", 0) == 0 || t == "tokens") {
    Json j{{"type", "integer"}};
    // "count >= 2": the one bound a type string states as a number.
    if (const auto at = t.find(">="); at != std::string::npos) {
      try {
        j["minimum"] = std::stoll(t.substr(at + 2));
      } catch (const std::exception&) {
      }
    }
    return j;
  }
  if (t == "ratio" || t == "number") return Json{{"type", "number"}};
  if (t == "bool") return Json{{"type", "boolean"}};
  if (t == "object" || (!t.empty() && t.front() == '{')) return Json{{"type", "object"}};
  if (t == "array") return Json{{"type", "array"}};
  // Quantities are strings with units ("5us", "300GB/s"); names and paths are strings.
  if (t == "string" || t == "path" || t == "name" || t == "duration" || t == "bytes" ||
      t == "rate" || t == "bandwidth" || t == "flop rate") {
    return Json{{"type", "string"}};
  }
  return Json::object();  // not a type kvsim can check here: any value
}

// The sections of the document, by pointer pattern.
struct Builder {
  const std::vector<Section>& all;
  const std::vector<const RegistryView*>& families;

  const Section* at(const std::string& pointer) const {
    for (const Section& s : all) {
      if (s.pointer == pointer) return &s;
    }
    return nullptr;
  }

  const RegistryView& family(const std::string& name) const {
    for (const RegistryView* r : families) {
      if (r->family() == name) return *r;
    }
    throw std::logic_error(fmt::format("section declarations name family '{}', which is not "
                                       "registered",
                                       name));
  }

  Json field(const std::string& parent, const ParamDoc& p) const {
    const std::string child = parent + "/" + p.name;
    Json j;
    if (const Section* s = at(child)) {
      j = section(*s);
    } else if (const Section* item = at(child + "/*")) {
      j = Json{{"type", "array"}, {"items", section(*item)}};
    } else {
      j = type_schema(p.type);
    }
    j["description"] = fmt::format("{} ({}; {})", p.doc, p.type,
                                   p.default_value.empty() ? std::string("required")
                                                           : "default: " + p.default_value);
    return j;
  }

  Json object(const std::string& pointer, const std::vector<ParamDoc>& fields) const {
    Json properties = Json::object();
    for (const ParamDoc& p : fields) properties[p.name] = field(pointer, p);
    return Json{{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
  }

  Json entries(const Section& s) const {
    const RegistryView& f = family(s.family);
    Json alternatives = Json::array();
    for (const RegistryEntryInfo& e : f.infos()) {
      Json alt = object(s.pointer, e.params);
      alt["properties"]["type"] = Json{{"const", e.name}, {"description", e.summary}};
      alt["required"] = Json::array({"type"});
      alt["title"] = e.name;
      alternatives.push_back(std::move(alt));
    }
    return Json{{"description", fmt::format("{}: {} (`kvsim explain {}`)", f.family(),
                                            f.description(), f.family())},
                {"oneOf", alternatives}};
  }

  Json section(const Section& s) const {
    Json j;
    if (!s.family.empty()) {
      j = entries(s);
    } else if (s.fields.empty()) {
      j = Json{{"type", "object"}, {"description", s.summary}};  // free-form (a spec, a "set")
    } else {
      j = object(s.pointer, s.fields);
      j["description"] = s.summary;
    }
    if (s.name_stands_for.empty()) return j;
    return Json{{"anyOf", Json::array({Json{{"type", "string"},
                                            {"description", s.name_stands_for}},
                                       std::move(j)})}};
  }
};

std::vector<std::string> tokens_of(const std::string& pointer) {
  Json::json_pointer p(pointer);  // throws json::parse_error on a malformed pointer
  std::vector<std::string> out;
  while (!p.empty()) {
    out.push_back(p.back());
    p.pop_back();
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// `node` and, through anyOf/oneOf, every alternative it allows.
void alternatives(const Json& node, std::vector<const Json*>& out) {
  out.push_back(&node);
  for (const char* key : {"anyOf", "oneOf"}) {
    if (!node.contains(key)) continue;
    for (const Json& alt : node.at(key)) alternatives(alt, out);
  }
}

// An object or array whose insides the format leaves open (a model spec, a sweep's values).
bool free_form(const Json& node) {
  for (const char* key : {"properties", "items", "oneOf", "anyOf", "enum", "const"}) {
    if (node.contains(key)) return false;
  }
  const std::string type = node.value("type", std::string());
  return type.empty() || type == "object" || type == "array";
}

std::vector<const Json*> step(const std::vector<const Json*>& nodes, const std::string& token) {
  std::vector<const Json*> out;
  const bool index = token == "*" || token == "-" ||
                     (!token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
                       return std::isdigit(static_cast<unsigned char>(c)) != 0;
                     }));
  for (const Json* n : nodes) {
    std::vector<const Json*> alts;
    alternatives(*n, alts);
    for (const Json* a : alts) {
      if (a->contains("properties") && a->at("properties").contains(token)) {
        out.push_back(&a->at("properties").at(token));
      } else if (index && a->contains("items")) {
        out.push_back(&a->at("items"));
      } else if (free_form(*a)) {
        out.push_back(a);  // any key or index inside, described by the node itself
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

Json type_schema(const std::string& type) {
  const std::string t = trim(type);
  if (t.size() >= 2 && t.front() == '[' && t.back() == ']') {
    Json j{{"type", "array"}};
    const std::string inner = t.substr(1, t.size() - 2);
    if (inner != "..." && !inner.empty()) j["items"] = type_schema(inner);
    return j;
  }
  if (t.find('|') == std::string::npos) return kind_schema(t);
  const std::vector<std::string> words = split(t, '|');
  if (std::all_of(words.begin(), words.end(), is_literal)) return Json{{"enum", words}};
  if (std::find(words.begin(), words.end(), "...") != words.end()) return Json::object();
  Json any = Json::array();
  for (const std::string& w : words) any.push_back(is_literal(w) ? Json{{"const", w}} : kind_schema(w));
  return Json{{"anyOf", any}};
}

Json json_schema(DocumentKind kind, const std::vector<const RegistryView*>& families) {
  const Builder b{sections(kind), families};
  const Section* root = b.at("");
  Json j = b.section(*root);
  j["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  j["$id"] = kind == DocumentKind::kScenario ? "https://kvsim.local/scenario.schema.json"
                                             : "https://kvsim.local/sweep.schema.json";
  j["title"] = kind == DocumentKind::kScenario ? "kvsim scenario" : "kvsim sweep";
  return j;
}

std::vector<const Json*> schema_at(const Json& schema, const std::string& pointer) {
  std::vector<const Json*> nodes{&schema};
  for (const std::string& token : tokens_of(pointer)) {
    nodes = step(nodes, token);
    if (nodes.empty()) break;
  }
  return nodes;
}

std::vector<std::string> keys_at(const Json& schema, const std::string& pointer) {
  std::vector<std::string> out;
  for (const Json* n : schema_at(schema, pointer)) {
    std::vector<const Json*> alts;
    alternatives(*n, alts);
    for (const Json* a : alts) {
      if (!a->contains("properties")) continue;
      for (const auto& item : a->at("properties").items()) out.push_back(item.key());
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace kvsim
