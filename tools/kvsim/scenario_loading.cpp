#include "tools/kvsim/scenario_loading.hpp"

namespace kvsim::cli {

void add_scenario_options(CLI::App& cmd, ScenarioOptions& options) {
  cmd.add_option("scenario", options.path, "scenario JSON file")->required();
  cmd.add_option("--set", options.overrides,
                 "override a field: /json/pointer=value (JSON, or a bare string); repeatable")
      ->expected(1)
      ->take_all();
}

Scenario load(const ScenarioOptions& options) {
  ConfigDocument doc = ConfigDocument::load_file(options.path);
  for (const auto& o : options.overrides) doc.apply_override(o);
  return load_scenario(doc);
}

}  // namespace kvsim::cli
