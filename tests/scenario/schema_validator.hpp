#pragma once
// A JSON Schema validator for the subset `kvsim schema` writes (type, properties,
// additionalProperties false, required, enum, const, oneOf, anyOf, items, minimum), for tests.
// Debian has no nlohmann-json-schema-validator package (apt-cache policy
// libnlohmann-json-schema-validator-dev: none), and kvsim takes no new dependency; a keyword
// outside the subset is an error here, so the schema cannot silently outgrow the checker.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kvsim::testing {

/// Every violation of `schema` by `value`, as "pointer: what"; empty when valid.
std::vector<std::string> schema_violations(const nlohmann::json& schema,
                                           const nlohmann::json& value);

}  // namespace kvsim::testing
