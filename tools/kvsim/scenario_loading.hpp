#pragma once
// Reading a scenario the way every command does: file, --set overrides, then the typed load.

#include "sim/scenario/scenario.hpp"
#include "tools/kvsim/commands.hpp"

namespace kvsim::cli {

void add_scenario_options(CLI::App& cmd, ScenarioOptions& options);
/// Loads the file, applies overrides in order, and reads it; throws InputError.
Scenario load(const ScenarioOptions& options);

}  // namespace kvsim::cli
