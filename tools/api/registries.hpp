#pragma once
// Every registered family: for `kvsim list` and `kvsim explain`, and for the JSON Schema that
// --set and the Python module's set= consult (overrides.hpp).

#include <vector>

#include "sim/core/registry.hpp"

namespace kvsim {

std::vector<const RegistryView*> all_registries();

}  // namespace kvsim
