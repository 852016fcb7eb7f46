#pragma once
// Which worker evaluates which item: the one static, deterministic assignment that MPI ranks and
// --shard runs share, so that a run spread any way gathers the same items in the same order.
//
// Items are dealt out interleaved (item i to worker i mod N), not in blocks: a sweep's first axis
// varies slowest, so neighbouring points tend to cost alike, and dealing them round the workers
// balances the load without knowing the costs. Pure functions; no MPI here.

#include <cstddef>
#include <string>
#include <vector>

namespace kvsim::distributed {

/// One share of a run split for a batch scheduler: shard `index` (1-based, as written "K/N") of
/// `count`.
struct Shard {
  std::size_t index = 1;
  std::size_t count = 1;

  /// "K/N".
  std::string text() const;
  bool operator==(const Shard&) const = default;
};

/// Reads "K/N" (1 <= K <= N, N >= 1); throws InputError naming `where` (the option or file and
/// pointer it came from) and what would be valid.
Shard parse_shard(const std::string& text, const std::string& where);

/// The items of [0, count) that worker `worker` (0-based) of `workers` evaluates, ascending.
std::vector<std::size_t> items_of(std::size_t count, std::size_t worker, std::size_t workers);

/// Worker `worker` of `workers`'s part of `items` (a list another split already gave this
/// process: a shard's items spread again over MPI ranks), in the same interleaved way.
std::vector<std::size_t> share_of(const std::vector<std::size_t>& items, std::size_t worker,
                                  std::size_t workers);

/// The items of [0, count) that `shard` computes.
std::vector<std::size_t> items_of(std::size_t count, const Shard& shard);

}  // namespace kvsim::distributed
