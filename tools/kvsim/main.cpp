// kvsim: a discrete-event simulator and performance model of LLM inference.
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <tbb/global_control.h>

#include "sim/core/input_error.hpp"
#include "sim/report/output.hpp"
#include "tools/kvsim/commands.hpp"

namespace {

// Interrupted (Ctrl-C, a job scheduler's SIGTERM, a closed terminal): remove the temporaries of
// outputs being written, so the output directory keeps its previous run and nothing half-made,
// then die of the same signal as if unhandled (the shell sees 128 + signal).
void on_termination_signal(int signal_number) {
  kvsim::report::remove_temporaries_on_signal();
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

void remove_temporaries_when_interrupted() {
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) std::signal(s, on_termination_signal);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kvsim: predicts time to first token, time per output token, throughput and "
               "memory of LLM inference on GPU clusters"};
  app.require_subcommand(1);
  app.fallthrough();  // global options such as --threads may follow the subcommand
  app.set_version_flag("--version", "kvsim 0.1.0");
  kvsim::cli::Command selected;
  int threads = 0;
  app.add_option("--threads", threads, "worker threads for searches and sweeps (0: all cores); "
                                       "results do not depend on it")
      ->check(CLI::Range(0, 4096));
  kvsim::cli::add_run(app, selected);
  kvsim::cli::add_search(app, selected);
  kvsim::cli::add_sweep(app, selected);
  kvsim::cli::add_train_predictor(app, selected);
  kvsim::cli::add_plot(app, selected);
  kvsim::cli::add_calibrate(app, selected);
  kvsim::cli::add_calibrate_network(app, selected);
  kvsim::cli::add_calibrate_engine(app, selected);
  kvsim::cli::add_compare(app, selected);
  kvsim::cli::add_serve(app, selected);
  kvsim::cli::add_validate(app, selected);
  kvsim::cli::add_list(app, selected);
  kvsim::cli::add_explain(app, selected);
  kvsim::cli::add_cost(app, selected);
  kvsim::cli::add_plan(app, selected);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  remove_temporaries_when_interrupted();
  std::optional<tbb::global_control> limit;
  if (threads > 0) {
    limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
  }
  try {
    return selected();
  } catch (const kvsim::InputError& e) {
    fmt::print(stderr, "kvsim: error: {}\n", e.what());
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the user gave that the system refuses (too long, not a directory, no permission)
    // and a reader did not check first: bad input, named by its path.
    fmt::print(stderr, "kvsim: error: {}: {}\n", e.path1().string(), e.code().message());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kvsim: internal error: {}\n", e.what());
    return 3;
  }
}
