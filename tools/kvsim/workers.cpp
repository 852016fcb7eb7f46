#include "tools/kvsim/workers.hpp"

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/report/output.hpp"

namespace kvsim::cli {

void add_worker_options(CLI::App& cmd, WorkerOptions& o) {
  cmd.add_option("--shard", o.shard,
                 "compute only shard K of N (K/N, from 1) and write it as a partial result to "
                 "--out FILE; `kvsim merge` combines the N files (see README: Running on many "
                 "machines)")
      ->check([](const std::string& text) {
        try {
          distributed::parse_shard(text, "--shard");
          return std::string();
        } catch (const InputError& e) {
          return e.message();
        }
      });
}

bool spreads_over_workers(const CLI::App& cmd) {
  return cmd.get_option_no_throw("--shard") != nullptr;
}

bool speaks() {
  const distributed::Workers* workers = distributed::Workers::current();
  return workers == nullptr || workers->root();
}

std::optional<std::vector<std::string>> evaluate_items(const WorkerOptions& o,
                                                       const distributed::Job& job,
                                                       const std::string& out, std::size_t count,
                                                       const distributed::Evaluate& evaluate,
                                                       const distributed::ProgressReport& progress) {
  std::optional<distributed::Workers> alone;  // when main() made none
  if (distributed::Workers::current() == nullptr) alone.emplace();
  distributed::Workers* workers = distributed::Workers::current();
  std::optional<distributed::Shard> shard;
  if (!o.shard.empty()) {
    shard = distributed::parse_shard(o.shard, "--shard");
    if (out.empty()) {
      throw InputError("--shard", "", "a shard writes a partial result file: name it with --out "
                                      "FILE (kvsim merge combines the files)");
    }
  }
  workers->set_shard(shard);
  std::vector<std::string> results = distributed::map_items(count, evaluate, progress);
  if (!workers->root()) return std::nullopt;
  if (!shard) return results;
  report::write_file(out, distributed::partial_text(job, *shard, count, results));
  return std::nullopt;
}

}  // namespace kvsim::cli
