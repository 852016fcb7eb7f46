#pragma once
// Speculative decoding's acceptance: how many of a step's drafted tokens the target keeps.
//
// Position i of a step's drafts (1-based) is accepted with probability a_i, given that every
// earlier position was; the first rejection ends the step (Leviathan et al., ICML 2023, sec. 3.1,
// with the acceptance of each position treated as independent of the sequence). A tree draft of
// width w offers w candidates at each position and keeps one if any is accepted: a position's
// rate becomes 1 - (1 - a_i)^w (candidates treated as independent; real trees whose candidates
// are the drafter's top-w do no better than this bound). So with d drafts a step emits
// n + 1 tokens, n the accepted drafts (the target samples one more token after them), and
// E[tokens] = sum_{i=0..d} prod_{j<=i} a_j, which is (1 - a^(d+1)) / (1 - a) at a fixed rate a.
//
// Request classes: a workload carries no class label, so a drafter may name classes with a
// share each; every request is given one, drawn from the seed by its id.
//
// Draws are counter-based: a hash of (seed, request id, tokens generated so far), so the same
// scenario and seed give the same accepted lengths whatever the batching or thread count.
// Who calls it: the drafters (drafter.hpp) read it; the serving replicas draw from it through
// Speculation, and kvsim run's decode step takes its expectation.

#include <cstdint>
#include <vector>

#include "sim/core/config.hpp"

namespace kvsim::serving::speculative {

class Acceptance {
 public:
  /// Reads node (the drafter's "acceptance": a rate, a per-position array of `drafts` rates, or
  /// {"classes": [{"share": s, "acceptance": rate or array}, ...]}) for `drafts` positions and
  /// a tree of `tree_width` candidates per position. Throws InputError.
  static Acceptance read(const ConfigNode& node, std::int64_t drafts, std::int64_t tree_width);

  /// The class of request `id` (an index into the classes, in the order given).
  std::size_t request_class(std::uint64_t seed, std::uint64_t id) const;
  /// Accepted drafts (0..drafts) of one step of request `id` after `generated` tokens.
  std::int64_t draw(std::uint64_t seed, std::uint64_t id, std::int64_t generated,
                    std::int64_t drafts) const;
  /// Expected tokens one step emits with `drafts` drafts: the share-weighted mean over the
  /// classes of sum_{i=0..drafts} prod_{j<=i} a_j.
  double expected_tokens(std::int64_t drafts) const;
  /// Expected tokens for class `c` alone.
  double expected_tokens(std::size_t c, std::int64_t drafts) const;
  std::size_t classes() const { return classes_.size(); }
  Json to_json() const { return resolved_; }

 private:
  struct Class {
    double share = 1;
    std::vector<double> rates;  // per position, tree width applied
  };
  std::vector<Class> classes_;
  Json resolved_;
};

/// A uniform double in [0, 1) from a 64-bit key (splitmix64's finaliser; 53 bits).
double uniform_from_key(std::uint64_t key);

}  // namespace kvsim::serving::speculative
