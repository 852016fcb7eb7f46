#pragma once
// Reading a scenario the way every command does: file, --set overrides, then the typed load;
// --strict turns the scenario's warnings into an input error.

#include "sim/scenario/scenario.hpp"
#include "tools/kvsim/commands.hpp"

namespace kvsim::cli {

void add_scenario_options(CLI::App& cmd, ScenarioOptions& options);
/// Adds --strict alone (for commands that read scenarios through another file, e.g. a sweep).
void add_strict_option(CLI::App& cmd, bool& strict);
/// Loads the file, applies overrides in order, and reads it; throws InputError (also for a
/// warning under --strict).
Scenario load(const ScenarioOptions& options);
/// Under --strict, throws InputError naming the warnings of `s`; otherwise does nothing.
void refuse_warnings_if_strict(const Scenario& s, bool strict);
/// Prints each warning of `s` to stderr as "kvsim: warning: ...".
void print_warnings(const Scenario& s);

}  // namespace kvsim::cli
