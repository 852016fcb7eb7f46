#pragma once
// The scenario and sweep formats as declarations: one Section per JSON object kvsim reads.
//
// A Section names where it sits (a JSON pointer pattern, "*" for each element of an array),
// what it is for, and either its own fields (ParamDoc: name, type, default, doc, as registry
// entries declare theirs) or the registry family whose entry its "type" picks (by the family's
// name, e.g. "scheduler"; the entries' ParamDocs are its fields). Sections that a plain string
// may stand in for (a catalog or profile name) say so. sim/scenario/json_schema.cpp turns these
// declarations plus the registries into the JSON Schema that `kvsim schema` writes, `kvsim
// explain` walks and `--set` consults, so a field declared here or in a registry entry appears
// in all three. The parsers (sim/scenario, sim/serving, sim/network, sim/sweep) still read the
// fields themselves; tests/scenario/schema_test.cpp checks every shipped file against these.
//
// arrivals and lengths are chosen by "type" like a family but parsed in sim/serving/workload.cpp
// without a registry: workload_families() declares them as RegistryViews (doc-only) so that list,
// explain and the schema treat them as every other family, and the parser takes its valid
// "type" names from them (workload_types).

#include <string>
#include <vector>

#include "sim/core/registry.hpp"

namespace kvsim {

struct Section {
  std::string pointer;  // "/serving/workload"; "" is the document; "*" each array element
  std::string summary;
  std::vector<ParamDoc> fields;  // the object's fields (empty when `family` is set)
  std::string family;            // the object is an entry of this family, picked by "type"
  std::string name_stands_for;   // non-empty: a string (what it names) may replace the object
};

enum class DocumentKind { kScenario, kSweep };

/// Every object of a scenario or a sweep file, outermost first.
const std::vector<Section>& sections(DocumentKind kind);

/// The doc-only families ("arrivals", "lengths") of sections parsed without a registry.
std::vector<const RegistryView*> workload_families();

/// The entry names of the doc-only family `family`, in order: the "type" values its parser
/// (sim/serving/workload.cpp) accepts, so the declarations and the parser cannot drift apart.
std::vector<std::string> workload_types(const std::string& family);

}  // namespace kvsim
