#pragma once
// `--set /pointer=value` for every command, and the Python module's set=[...]: replaces a field,
// or adds one the format allows.
//
// A pointer that reaches an existing value replaces it (ConfigDocument::apply_override). One
// that does not is added when the JSON Schema of the document's format (a sweep when it has
// "axes", else a scenario; sim/scenario/json_schema.hpp) has a field there, creating missing
// parent objects the format also allows; the value is then checked by the command's load like
// a value in the file. Anything else is refused by apply_override, naming the file, the pointer
// and what exists where the path stops.

#include <string>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/scenario/sections.hpp"

namespace kvsim::api {

/// The JSON Schema of a format, built once from the declarations and every registry.
const Json& format_schema(DocumentKind kind);

/// Applies the overrides in order to `doc` (see above); throws InputError.
void apply_overrides(ConfigDocument& doc, const std::vector<std::string>& overrides);

}  // namespace kvsim::api
