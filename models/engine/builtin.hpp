#pragma once
// The engine-model family ("engine" in a scenario): `kernels-only` (the default: kernel and
// collective time only), `parametric` (every parameter inline) and `profile` (a shipped profile
// from calibration/profiles/engines/<name>.json, compiled in, or a profile file by path).
// The scenario loader calls read_engine() on the "engine" value; `kvsim list`/`explain` show
// the registry and shipped_engine_profiles().

#include <string>
#include <vector>

#include "models/engine/engine_model.hpp"
#include "sim/core/registry.hpp"

namespace kvsim {

using EngineRegistry = Registry<EngineModel>;
const EngineRegistry& engine_models();

/// A scenario's "engine" value: a profile name (string) or an object with a "type".
EngineModel read_engine(const ConfigNode& node);

/// Names of the shipped engine profiles (calibration/profiles/engines/*.json).
std::vector<std::string> shipped_engine_profiles();

}  // namespace kvsim
