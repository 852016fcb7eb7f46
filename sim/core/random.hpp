#pragma once
// Random streams derived from the scenario seed and a component's name.
//
// Each component asks for its own stream by a stable name ("network/slow-links",
// "workload/arrivals"); the stream's seed is a hash of (scenario seed, name), so adding a
// component never shifts the numbers another component draws.

#include <cstdint>
#include <random>
#include <string_view>

namespace kvsim {

using RandomEngine = std::mt19937_64;

/// 64-bit FNV-1a of a string: stable across platforms and runs.
std::uint64_t stable_hash(std::string_view text);

class RandomStreams {
 public:
  explicit RandomStreams(std::uint64_t seed) : seed_(seed) {}
  /// A fresh engine for the named component; the same name always gives the same sequence.
  RandomEngine stream(std::string_view component) const;
  std::uint64_t seed() const { return seed_; }

 private:
  std::uint64_t seed_;
};

}  // namespace kvsim
