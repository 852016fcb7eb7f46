#pragma once
// A --shard run's partial result file, and merging the shards of one run back into every
// item's result (`kvsim merge`), for batch schedulers without MPI (Slurm job arrays).
//
//   { "kvsim_partial": 1,
//     "command": "sweep",                       // the command that made it; merge finishes it
//     "input": { "file": "s.json", "directory": "/work", "set": [] },  // what merge reloads
//     "input_hash": "9c0f3d2a1b4e5f60",         // of the resolved input: changed input, refused
//     "shard": "2/4", "items": 144,             // shard K of N, of this many items in all
//     "results": [[1, "..."], [5, "..."]] }     // the shard's items (assignment.hpp), ascending
//
// merge_partials checks that the files belong to one run (same command, input, hash, shard
// count and item count), that each shard 1..N appears exactly once and holds exactly its items;
// every error is an InputError naming the file. The command then checks the hash against its
// input as it reads now.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/distributed/assignment.hpp"

namespace kvsim::distributed {

/// What a sharded run computes: the command, how it reloads its input, the input's hash.
struct Job {
  std::string command;
  nlohmann::json input;
  std::string input_hash;  // hash_text(stable_hash(...)) of the resolved input
};

struct Partial {
  std::string file;  // for messages
  Job job;
  Shard shard;
  std::size_t items = 0;
  std::vector<std::pair<std::size_t, std::string>> results;
};

/// 16 hex digits.
std::string hash_text(std::uint64_t hash);

/// The partial file of `shard` of a run of `items` items: `results` as map_items returned them
/// (every item of the shard filled).
std::string partial_text(const Job& job, const Shard& shard, std::size_t items,
                         const std::vector<std::string>& results);

/// Reads a partial file; throws InputError naming the file and pointer when it is not one.
Partial read_partial(const std::string& path);

/// Every item's result, in index order, from all shards of one run (see above).
std::vector<std::string> merge_partials(const std::vector<Partial>& parts);

}  // namespace kvsim::distributed
