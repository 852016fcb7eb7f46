#pragma once
// Runs one collective over every GPU of a topology on an otherwise idle network and returns when
// it finished: the network tests' way to compare the simulator with a closed form.

#include <vector>

#include "sim/core/event_queue.hpp"
#include "sim/network/collectives.hpp"
#include "sim/network/flow_network.hpp"

namespace kvsim::net::testing {

inline SimTime run_collective(const Topology& t, CollectiveKind kind,
                              const CollectiveConfig& config, double bytes) {
  EventQueue q;
  FlowNetwork net(q, t);
  CollectiveEngine engine(net, config);
  std::vector<int> gpus;
  for (int g = 0; g < t.gpu_count(); ++g) gpus.push_back(g);
  SimTime done{-1};
  struct Ctx {
    EventQueue* q;
    SimTime* done;
  } ctx{&q, &done};
  engine.start(kind, gpus, bytes, [c = &ctx] { *c->done = c->q->now(); });
  q.run();
  return done;
}

}  // namespace kvsim::net::testing
