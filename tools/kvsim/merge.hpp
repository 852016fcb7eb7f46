#pragma once
// What `kvsim merge` (cmd_merge.cpp) needs from each command whose runs split into --shard
// partial results: a finisher (one line in cmd_merge.cpp's table) that rebuilds the command's input from the partials' job, checks
// its hash, and writes the output the unsplit command would have written.

#include <string>
#include <vector>

#include "sim/distributed/partial.hpp"

namespace kvsim::cli {

/// Where and how a finisher writes: the command's --out and --quiet.
struct FinishOptions {
  std::string out;
  bool quiet = false;
  double wall_seconds = 0;  // reported as the run's time
};

/// `kvsim sweep`'s finisher; `first` is the first partial file given (its job, for messages its
/// path). (cmd_sweep.cpp). Throws InputError when the sweep file or its base
/// changed since the shards ran.
int finish_merged_sweep(const distributed::Partial& first, const std::vector<std::string>& points,
                        const FinishOptions& o);

/// `kvsim plan`'s finisher (cmd_plan.cpp): screens the plan again (deterministic) and writes its
/// report from the shards' evaluations. Throws InputError when the plan changed since.
int finish_merged_plan(const distributed::Partial& first, const std::vector<std::string>& results,
                       const FinishOptions& o);

}  // namespace kvsim::cli
