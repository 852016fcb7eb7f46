#include "sim/core/random.hpp"

namespace kvsim {
namespace {

// SplitMix64 finaliser: spreads nearby seeds over the whole 64-bit space.
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

RandomEngine RandomStreams::stream(std::string_view component) const {
  return RandomEngine(splitmix64(seed_ ^ splitmix64(stable_hash(component))));
}

}  // namespace kvsim
