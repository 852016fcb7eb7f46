#pragma once
// The prefill-strategy family: single, tsp, tp, kvr.

#include "sim/prefill/prefill_strategy.hpp"
#include "sim/core/registry.hpp"

namespace kvsim::prefill {

using StrategyRegistry = Registry<std::unique_ptr<PrefillStrategy>>;
const StrategyRegistry& strategies();

}  // namespace kvsim::prefill
