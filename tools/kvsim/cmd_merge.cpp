// `kvsim merge PART...`: combines the partial results of a run split with --shard K/N (Slurm job
// arrays, any batch scheduler) into the output the unsplit command writes, byte for byte.
#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "tools/kvsim/commands.hpp"
#include "tools/kvsim/merge.hpp"
#include "tools/kvsim/progress.hpp"

namespace kvsim::cli {
namespace {

using Finisher = int (*)(const distributed::Partial&, const std::vector<std::string>&,
                         const FinishOptions&);

// The commands whose runs shard, each with the function that finishes it from all shards.
const std::vector<std::pair<std::string, Finisher>>& finishers() {
  static const std::vector<std::pair<std::string, Finisher>> table{
      {"sweep", finish_merged_sweep},
      {"plan", finish_merged_plan},
  };
  return table;
}

struct MergeOptions {
  std::vector<std::string> parts;
  std::string out;
  bool quiet = false;
};

int run_merge(const MergeOptions& o) {
  const Progress clock("kvsim merge", 0, false);
  std::vector<distributed::Partial> parts;
  for (const std::string& path : o.parts) parts.push_back(distributed::read_partial(path));
  const std::vector<std::string> results = distributed::merge_partials(parts);
  const distributed::Partial& first = parts.front();
  std::vector<std::string> known;
  for (const auto& [command, finish] : finishers()) {
    if (command == first.job.command) {
      return finish(first, results, FinishOptions{o.out, o.quiet, clock.elapsed_seconds()});
    }
    known.push_back(command);
  }
  throw InputError(first.file, "/command", fmt::format(
      "'{}' is not a command kvsim merge finishes; {}", first.job.command,
      valid_values_hint(first.job.command, known)));
}

}  // namespace

void add_merge(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "merge", "Combine the partial results of a run split with --shard K/N into its output");
  auto o = std::make_shared<MergeOptions>();
  cmd->add_option("parts", o->parts, "every shard's partial result file (the --out of each "
                                     "--shard K/N run), in any order")
      ->required();
  cmd->add_option("--out", o->out, "write the command's output files to this directory");
  cmd->add_flag("-q,--quiet", o->quiet, "no summary; without --out, print the result table");
  cmd->callback([&selected, o] { selected = [o] { return run_merge(*o); }; });
}

}  // namespace kvsim::cli
