// kvsim: a discrete-event simulator and performance model of LLM inference.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <tbb/global_control.h>

#include "sim/core/input_error.hpp"
#include "sim/distributed/work_split.hpp"
#include "sim/report/output.hpp"
#include "tools/kvsim/commands.hpp"
#include "tools/kvsim/workers.hpp"

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

// Reports a failure and returns its exit code. Under mpirun only rank 0 speaks; another rank
// first gives rank 0 (which fails the same way on the same input) time to report and end the
// job, and speaks only when its failure was its own.
int fail(const kvsim::distributed::Workers* workers, const std::string& message, int code) {
  if (workers != nullptr && !workers->root()) {
    std::this_thread::sleep_for(std::chrono::seconds(5));
    fmt::print(stderr, "kvsim (rank {}): {}\n", workers->rank(), message);
    return code;
  }
  fmt::print(stderr, "kvsim: {}\n", message);
  return code;
}

// Under mpirun with several ranks, only the commands that spread their items may run: any other
// would run once per rank and write its outputs over itself.
void refuse_unspread_command(const CLI::App& app, const kvsim::distributed::Workers& workers) {
  if (workers.size() < 2) return;
  for (const CLI::App* cmd : app.get_subcommands()) {
    if (!kvsim::cli::spreads_over_workers(*cmd)) {
      throw kvsim::InputError("", "", fmt::format(
          "kvsim {} does not spread over MPI ranks (sweep and plan do); run it without mpirun, or with "
          "-n 1 (mpirun started {})", cmd->get_name(), workers.size()));
    }
  }
}

int run(int argc, char** argv, kvsim::distributed::Workers& workers) {
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
  kvsim::cli::add_schema(app, selected);
  kvsim::cli::add_plan(app, selected);
  kvsim::cli::add_merge(app, selected);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    workers.finished();
    if (!workers.root()) return 0;
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    if (!workers.root()) return fail(&workers, e.what(), 2);
    app.exit(e);
    return 2;
  }
  remove_temporaries_when_interrupted();
  std::optional<tbb::global_control> limit;
  if (threads > 0) {
    limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
  }
  try {
    refuse_unspread_command(app, workers);
    const int code = selected();
    workers.finished();
    return code;
  } catch (const kvsim::InputError& e) {
    return fail(&workers, fmt::format("error: {}", e.what()), 2);
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the user gave that the system refuses (too long, not a directory, no permission)
    // and a reader did not check first: bad input, named by its path.
    return fail(&workers, fmt::format("error: {}: {}", e.path1().string(), e.code().message()), 2);
  } catch (const std::exception& e) {
    return fail(&workers, fmt::format("internal error: {}", e.what()), 3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // First: MPI_Init (under mpirun) may rewrite argv; MPI_Finalize runs when `workers` ends.
  std::optional<kvsim::distributed::Workers> workers;
  try {
    workers.emplace(argc, argv);
  } catch (const kvsim::InputError& e) {
    return fail(nullptr, fmt::format("error: {}", e.what()), 2);
  }
  return run(argc, argv, *workers);
}
