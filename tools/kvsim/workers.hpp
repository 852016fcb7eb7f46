#pragma once
// The command-line side of sim/distributed: the --shard option of commands whose items spread
// over workers (sweep, plan), and running those items.
//
// Under mpirun every rank runs the command; only rank 0 (speaks()) prints and writes. With
// --shard K/N the command computes shard K's items and writes them as a partial result to its
// --out file; `kvsim merge` (cmd_merge.cpp) then finishes the command from all N shards.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sim/core/config.hpp"
#include "sim/distributed/partial.hpp"
#include "sim/distributed/work_split.hpp"

namespace kvsim::cli {

struct WorkerOptions {
  std::string shard;  // "K/N"; empty: every item
};

/// Adds --shard K/N to a command whose items spread over workers.
void add_worker_options(CLI::App& cmd, WorkerOptions& o);

/// Whether the subcommand `cmd` spreads its items (it has --shard); under mpirun with more than
/// one rank, main() refuses the commands that do not.
bool spreads_over_workers(const CLI::App& cmd);

/// Whether this process prints and writes files: rank 0 of an MPI run, or the process alone.
bool speaks();

/// A sharded command's input as merge reloads it: the file's path as given, the working
/// directory (relative paths inside resolve from there, and outputs name them so), the --set
/// overrides.
nlohmann::json job_input(const std::string& path, const std::vector<std::string>& sets);

/// The input document a partial result was made from (job_input), read again with its
/// overrides; InputError naming the partial file when its input is not job_input's shape, or
/// when the path is relative and merge runs from another working directory.
ConfigDocument reload_document(const distributed::Partial& first);

/// Runs `evaluate` over items [0, count) of `job` on this run's workers. Returns every result,
/// in item order, when this process is to finish the command (rank 0, or the process alone);
/// std::nullopt when it must do nothing more: a rank other than 0, or a --shard run, whose
/// partial result this has written to `out` (required with --shard; InputError without).
std::optional<std::vector<std::string>> evaluate_items(const WorkerOptions& o,
                                                       const distributed::Job& job,
                                                       const std::string& out, std::size_t count,
                                                       const distributed::Evaluate& evaluate,
                                                       const distributed::ProgressReport& progress);

}  // namespace kvsim::cli
