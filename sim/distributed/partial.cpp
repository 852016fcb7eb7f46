#include "sim/distributed/partial.hpp"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/config.hpp"
#include "sim/core/input_error.hpp"

namespace kvsim::distributed {
namespace {

constexpr std::int64_t format_version = 1;

// A part that does not belong with the first: which field differs, and how.
void check_same_run(const Partial& first, const Partial& part) {
  const auto differs = [&](const char* pointer, const std::string& mine, const std::string& theirs) {
    throw InputError(part.file, pointer, fmt::format(
        "is {}, but {} has {}: the two files are shards of different runs (merge the shards of "
        "one run, made from the same input)", mine, first.file, theirs));
  };
  if (part.job.command != first.job.command) {
    differs("/command", part.job.command, first.job.command);
  }
  if (part.job.input != first.job.input) {
    differs("/input", part.job.input.dump(), first.job.input.dump());
  }
  if (part.job.input_hash != first.job.input_hash) {
    differs("/input_hash", part.job.input_hash, first.job.input_hash);
  }
  if (part.shard.count != first.shard.count) {
    differs("/shard", part.shard.text(), first.shard.text());
  }
  if (part.items != first.items) {
    differs("/items", fmt::format("{}", part.items), fmt::format("{}", first.items));
  }
}

// The part holds exactly its shard's items, ascending.
void check_items(const Partial& part) {
  const std::vector<std::size_t> expected = items_of(part.items, part.shard);
  for (std::size_t j = 0; j < part.results.size() || j < expected.size(); ++j) {
    const std::string at = fmt::format("/results/{}", j);
    if (j >= part.results.size()) {
      throw InputError(part.file, "/results", fmt::format(
          "lacks item {} of shard {} (a shard K/N holds items K-1, K-1+N, ...)", expected[j],
          part.shard.text()));
    }
    const std::size_t item = part.results[j].first;
    if (j >= expected.size() || item != expected[j]) {
      throw InputError(part.file, at, fmt::format(
          "is item {}, but shard {} of {} items holds {} here (a shard K/N holds items K-1, "
          "K-1+N, ..., ascending)", item, part.shard.text(), part.items,
          j < expected.size() ? fmt::format("item {}", expected[j]) : std::string("nothing")));
    }
  }
}

}  // namespace

std::string hash_text(std::uint64_t hash) { return fmt::format("{:016x}", hash); }

std::string partial_text(const Job& job, const Shard& shard, std::size_t items,
                         const std::vector<std::string>& results) {
  nlohmann::json entries = nlohmann::json::array();
  for (const std::size_t i : items_of(items, shard)) entries.push_back({i, results.at(i)});
  const nlohmann::json file{{"kvsim_partial", format_version}, {"command", job.command},
                            {"input", job.input},      {"input_hash", job.input_hash},
                            {"shard", shard.text()},   {"items", items},
                            {"results", entries}};
  return file.dump(1) + "\n";
}

Partial read_partial(const std::string& path) {
  const ConfigDocument doc = ConfigDocument::load_file(path);
  const ConfigNode root = doc.root();
  if (!root.json().is_object() || !root.has("kvsim_partial")) {
    throw InputError(path, "", "is not a kvsim partial result (the --out file of a --shard run)");
  }
  if (root.at("kvsim_partial").as_integer() != format_version) {
    root.at("kvsim_partial").fail(fmt::format("this kvsim reads partial results of format {}",
                                              format_version));
  }
  Partial part;
  part.file = path;
  part.job.command = root.string("command");
  part.job.input = root.at("input").json();
  part.job.input_hash = root.string("input_hash");
  const ConfigNode shard = root.at("shard");
  try {
    part.shard = parse_shard(shard.as_string(), path);
  } catch (const InputError& e) {
    shard.fail(e.message());
  }
  part.items = static_cast<std::size_t>(root.count("items", 0));
  const ConfigNode results = root.at("results");
  // Checked before anything is sized by "items", which only the results bound.
  const std::size_t k = part.shard.index;
  const std::size_t expected = part.items >= k ? (part.items - k) / part.shard.count + 1 : 0;
  if (results.size() != expected) {
    results.fail(fmt::format("holds {} results, but shard {} of {} items has {} (a shard K/N "
                             "holds items K-1, K-1+N, ...)", results.size(), part.shard.text(),
                             part.items, expected));
  }
  for (const ConfigNode& entry : results.elements()) {
    if (entry.size() != 2) entry.fail("must be [item index, result]");
    const std::vector<ConfigNode> pair = entry.elements();
    const std::int64_t item = pair[0].as_integer();
    if (item < 0) pair[0].fail("must be an item index, 0 or more");
    part.results.emplace_back(static_cast<std::size_t>(item), pair[1].as_string());
  }
  root.finish();
  return part;
}

std::vector<std::string> merge_partials(const std::vector<Partial>& parts) {
  if (parts.empty()) throw InputError("", "", "merge needs the partial result files of a run");
  std::map<std::size_t, const Partial*> by_shard;
  for (const Partial& part : parts) {
    check_same_run(parts.front(), part);
    const auto [at, inserted] = by_shard.emplace(part.shard.index, &part);
    if (!inserted) {
      throw InputError(part.file, "/shard", fmt::format(
          "shard {} is also in {}: give each shard once", part.shard.text(), at->second->file));
    }
    check_items(part);
  }
  const std::size_t shards = parts.front().shard.count;
  if (by_shard.size() < shards) {
    // The first few missing (N may be large): the loop meets one within parts + 10 steps.
    std::vector<std::string> missing;
    for (std::size_t k = 1; k <= shards && missing.size() < 10; ++k) {
      if (!by_shard.contains(k)) missing.push_back(Shard{k, shards}.text());
    }
    const std::size_t count = shards - by_shard.size();
    throw InputError("", "", fmt::format(
        "shard{} {}{} of the run in {} {} missing: merge needs every shard (run the missing ones "
        "with --shard K/N)", count > 1 ? "s" : "", fmt::join(missing, ", "),
        count > missing.size() ? fmt::format(" and {} more", count - missing.size()) : "",
        parts.front().file, count > 1 ? "are" : "is"));
  }
  std::vector<std::string> results(parts.front().items);
  for (const Partial& part : parts) {
    for (const auto& [item, result] : part.results) results[item] = result;
  }
  return results;
}

}  // namespace kvsim::distributed
