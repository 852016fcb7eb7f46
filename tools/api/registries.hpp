#pragma once
// Every registered family, for `kvsim list` and `kvsim explain`.

#include <vector>

#include "sim/core/registry.hpp"

namespace kvsim {

std::vector<const RegistryView*> all_registries();

}  // namespace kvsim
