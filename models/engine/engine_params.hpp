#pragma once
// Reading a parametric engine ({"type": "parametric", "host": {...}, ...}; see README "Engine
// model" and `kvsim explain parametric`) into EngineParams. Called by the engine registry
// (models/engine/builtin.cpp) for inline engines and for profile files. Every field is
// optional (its default has no effect); durations must be non-negative, time_scale a finite
// factor above 0; unknown keys are refused with a "did you mean" (the caller finishes the
// top-level object, this finishes the nested ones).

#include "models/engine/engine_model.hpp"
#include "sim/core/config.hpp"

namespace kvsim {

EngineParams read_parametric(const ConfigNode& node);

}  // namespace kvsim
