// kvsim: a discrete-event simulator and performance model of LLM inference.
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "tools/kvsim/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"kvsim: predicts time to first token, time per output token, throughput and "
               "memory of LLM inference on GPU clusters"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "kvsim 0.1.0");
  kvsim::cli::Command selected;
  kvsim::cli::add_run(app, selected);
  kvsim::cli::add_validate(app, selected);
  kvsim::cli::add_list(app, selected);
  kvsim::cli::add_explain(app, selected);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  try {
    return selected();
  } catch (const kvsim::InputError& e) {
    fmt::print(stderr, "kvsim: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kvsim: internal error: {}\n", e.what());
    return 3;
  }
}
