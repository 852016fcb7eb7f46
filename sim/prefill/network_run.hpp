#pragma once
// The per-run simulation state every event-driven strategy needs: a fresh event queue, the flow
// network over the setup's topology, collectives, background traffic, and (when tracing) one
// trace track per link. Lives on the stack of one run() call.

#include "sim/core/event_queue.hpp"
#include "sim/network/collectives.hpp"
#include "sim/network/heterogeneity.hpp"
#include "sim/prefill/prefill_strategy.hpp"

namespace kvsim::prefill {

class NetworkRun final : public net::FlowObserver {
 public:
  NetworkRun(const PrefillSetup& setup, bool record_trace);
  NetworkRun(const NetworkRun&) = delete;
  NetworkRun& operator=(const NetworkRun&) = delete;

  /// Starts background traffic, runs until a strategy calls queue.stop() (or nothing is left).
  void run();
  /// Adds link bytes, the event count and link trace slices to `out`.
  void finish(PrefillResult& out) const;
  void on_flow(const net::FlowRecord& record) override;

  EventQueue queue;
  net::FlowNetwork network;
  net::CollectiveEngine collectives;

 private:
  const PrefillSetup& setup_;
  net::BackgroundTraffic background_;
  bool record_trace_;
  std::vector<TraceSlice> link_slices_;
};

}  // namespace kvsim::prefill
