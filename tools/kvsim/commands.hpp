#pragma once
// The kvsim subcommands. Each registers its options on the CLI11 app and returns the function
// that runs it; main() parses, runs, and turns exceptions into messages and exit codes
// (0 success, 1 a check failed, 2 bad input).

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace kvsim::cli {

using Command = std::function<int()>;

/// Options shared by commands that read a scenario.
struct ScenarioOptions {
  std::string path;
  std::vector<std::string> overrides;  // --set /pointer=value
  bool strict = false;                 // --strict: every scenario warning is an input error
};

void add_list(CLI::App& app, Command& selected);
void add_explain(CLI::App& app, Command& selected);
void add_validate(CLI::App& app, Command& selected);
void add_run(CLI::App& app, Command& selected);
void add_search(CLI::App& app, Command& selected);
void add_sweep(CLI::App& app, Command& selected);
void add_train_predictor(CLI::App& app, Command& selected);
void add_plot(CLI::App& app, Command& selected);
void add_calibrate(CLI::App& app, Command& selected);
void add_calibrate_network(CLI::App& app, Command& selected);
void add_calibrate_engine(CLI::App& app, Command& selected);
void add_compare(CLI::App& app, Command& selected);
void add_serve(CLI::App& app, Command& selected);
void add_cost(CLI::App& app, Command& selected);
void add_schema(CLI::App& app, Command& selected);
void add_plan(CLI::App& app, Command& selected);
void add_merge(CLI::App& app, Command& selected);

}  // namespace kvsim::cli
