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
  double kv_held = 0;           // fraction of KV memory held
};

class Router {
 public:
  virtual ~Router() = default;
  virtual std::size_t route(std::span<const ReplicaLoad> replicas) = 0;
  virtual const char* name() const = 0;
};

using RouterRegistry = Registry<std::unique_ptr<Router>>;
const RouterRegistry& routers();

}  // namespace kvsim::serving
