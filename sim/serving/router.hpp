#pragma once
// Routers (registry family "router"): which replica a new request goes to.
//
//   round-robin        replicas in turn;
//   least-outstanding  the replica with the fewest requests waiting or running;
//   least-kv           the replica with the smallest share of its KV memory held.
// Ties go to the lowest replica index, so routing is deterministic.

#include <cstdint>
#include <memory>
#include <span>

#include "sim/core/registry.hpp"

namespace kvsim::serving {

/// What a router sees of each replica when a request arrives.
struct ReplicaLoad {
  std::size_t outstanding = 0;  // requests waiting or running
  std::int64_t held = 0;        // KV tokens of memory held
  std::int64_t capacity = 1;    // KV tokens the replica holds at most
  /// The fraction of KV memory held (divided when a router asks: most routers never do).
  double kv_held() const { return static_cast<double>(held) / static_cast<double>(capacity); }
};

class Router {
 public:
  virtual ~Router() = default;
  virtual std::size_t route(std::span<const ReplicaLoad> replicas) = 0;
  /// Whether route() reads the KV memory held (else only `outstanding` is filled in: summing
  /// each replica's memories at every arrival is most of routing's cost). Every router says.
  virtual bool reads_kv() const = 0;
  virtual const char* name() const = 0;
};

using RouterRegistry = Registry<std::unique_ptr<Router>>;
const RouterRegistry& routers();

}  // namespace kvsim::serving
