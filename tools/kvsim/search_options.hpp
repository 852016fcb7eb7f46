#pragma once
// The KVR-S options as command-line flags, shared by `kvsim search` and `kvsim train-predictor`.

#include <CLI/CLI.hpp>

#include "models/llm/limits.hpp"
#include "sim/prefill/search.hpp"

namespace kvsim::cli {

inline void add_search_options(CLI::App& cmd, prefill::SearchOptions& o) {
  cmd.add_option("--granularity", o.granularity,
                 "cut points are multiples of this many tokens (the last process takes the "
                 "remainder; the even split is also tried); at most floor((C-1)/(p-1))")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, limits::kTokens));
  cmd.add_option("--coarse-candidates", o.coarse_candidates, "most points of the coarse grid")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, prefill::SearchOptions::kMaxCoarseCandidates));
  cmd.add_option("--starts", o.starts, "refinements from the best coarse points")
      ->capture_default_str()
      ->check(CLI::Range(1, static_cast<int>(prefill::SearchOptions::kMaxStarts)));
}

}  // namespace kvsim::cli
