#pragma once
// Small topologies built in code for the network tests.

#include "sim/network/topology.hpp"

namespace kvsim::net::testing {

/// p GPUs, a duplex link between every pair.
inline Topology full_mesh(int p, double bandwidth, Duration latency) {
  Topology t;
  for (int i = 0; i < p; ++i) t.add_gpu();
  for (int a = 0; a < p; ++a) {
    for (int b = a + 1; b < p; ++b) t.add_duplex(a, b, bandwidth, latency);
  }
  return t;
}

}  // namespace kvsim::net::testing
