#pragma once
// The JSON Schema (draft 2020-12) of the scenario and sweep formats, built from the section
// declarations (sim/scenario/sections.hpp) and the registry families, the one source of truth.
//
// Callers: `kvsim schema` writes it, `kvsim explain /pointer` walks it, `--set` consults it
// before adding a field, tests/scenario/schema_test.cpp validates the shipped files with it.
// A field's type string (ParamDoc::type: "count", "ratio", "duration", "a|b|c", "[count]", ...)
// becomes a JSON type; quantities with units are strings; an unrecognised type string is left
// unconstrained (described, not checked). Families become a oneOf of their entries, each with
// "type" fixed and additionalProperties false; "required" lists only "type" (a family's other
// required fields can depend on each other; kvsim validate checks them).

#include <string>
#include <vector>

#include "sim/core/json_input.hpp"
#include "sim/core/registry.hpp"
#include "sim/scenario/sections.hpp"

namespace kvsim {

/// Throws std::logic_error when a section names a family missing from `families`.
Json json_schema(DocumentKind kind, const std::vector<const RegistryView*>& families);

/// The JSON Schema of one ParamDoc type string (no description).
Json type_schema(const std::string& type);

/// The schema nodes that the concrete pointer reaches ("/serving/scheduler/preemption"; array
/// indices or "*" step into items); several where family entries or alternatives differ,
/// none where the format has no such field.
std::vector<const Json*> schema_at(const Json& schema, const std::string& pointer);

/// The keys the format allows in the object at `pointer` (for "did you mean" messages).
std::vector<std::string> keys_at(const Json& schema, const std::string& pointer);

}  // namespace kvsim
