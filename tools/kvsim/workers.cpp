#include "tools/kvsim/workers.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/report/output.hpp"
#include "tools/api/overrides.hpp"

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

nlohmann::json job_input(const std::string& path, const std::vector<std::string>& sets) {
  return {{"file", path}, {"directory", std::filesystem::current_path().string()}, {"set", sets}};
}

ConfigDocument reload_document(const distributed::Partial& first) {
  const nlohmann::json& input = first.job.input;
  const auto strings = [](const nlohmann::json& a) {
    return a.is_array() && std::all_of(a.begin(), a.end(), [](const nlohmann::json& s) {
             return s.is_string();
           });
  };
  if (!input.is_object() || input.size() != 3 || !input.value("file", Json()).is_string() ||
      !input.value("directory", Json()).is_string() || !strings(input.value("set", Json()))) {
    throw InputError(first.file, "/input", fmt::format(
        "{}'s input is {{\"file\": path, \"directory\": working directory, \"set\": "
        "[overrides]}}, as kvsim {} --shard writes it", first.job.command, first.job.command));
  }
  const std::string file = input["file"].get<std::string>();
  const std::string directory = input["directory"].get<std::string>();
  if (std::filesystem::path(file).is_relative() &&
      std::filesystem::current_path() != std::filesystem::path(directory)) {
    throw InputError(first.file, "/input/directory", fmt::format(
        "the shards read '{}' from {}; run kvsim merge from that directory (the output names "
        "files as the shards saw them), or run the shards with an absolute path", file,
        directory));
  }
  ConfigDocument doc = ConfigDocument::load_file(file);
  api::apply_overrides(doc, input["set"].get<std::vector<std::string>>());  // as the shards did
  return doc;
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
