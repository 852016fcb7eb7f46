#include "tools/kvsim/scenario_loading.hpp"

#include <fmt/format.h>

#include "tools/api/api.hpp"

namespace kvsim::cli {

void add_scenario_options(CLI::App& cmd, ScenarioOptions& options) {
  cmd.add_option("scenario", options.path, "scenario JSON file")->required();
  cmd.add_option("--set", options.overrides,
                 "set a field, replacing or adding it: /json/pointer=value (JSON, or a bare string); "
                 "repeatable")
      ->expected(1)
      ->take_all();
  add_strict_option(cmd, options.strict);
}

void add_strict_option(CLI::App& cmd, bool& strict) {
  cmd.add_flag("--strict", strict,
               "refuse (exit 2) a scenario that would only draw a warning");
}

Scenario load(const ScenarioOptions& options) {
  return api::read_scenario(api::read_document(options.path, options.overrides),
                            options.strict);
}

void refuse_warnings_if_strict(const Scenario& s, bool strict) {
  api::refuse_warnings_if_strict(s, strict);
}

void print_warnings(const Scenario& s) {
  for (const auto& w : s.warnings) fmt::print(stderr, "kvsim: warning: {}\n", w);
}

}  // namespace kvsim::cli
