#pragma once
// Transfers as flows with max-min fair bandwidth sharing (the flow-level model SimGrid
// validated: Velho et al., ACM TOMACS 2013).
//
// A flow of `bytes` from one node to another starts now, becomes active after its route's
// latency, and then moves at the rate progressive filling gives it: every link's bandwidth is
// shared max-min fairly among the active flows that cross it, optionally under a per-flow cap.
// Rates are recomputed once per instant at which flows become active, finish or are stopped,
// after the instant's last event (EventQueue::at_end_of_instant: a collective step's P flows
// cost one recomputation, not P); each flow's completion is one event, rescheduled when its
// rate changes. A lone flow therefore takes exactly
// latency + ceil_ns(bytes / bottleneck bandwidth).
//
// Owned by one simulation; callbacks run on the simulation's EventQueue.

#include <cstdint>
#include <limits>
#include <vector>

#include "sim/core/event_queue.hpp"
#include "sim/network/topology.hpp"

namespace kvsim::net {

using FlowId = std::uint32_t;

/// A finished (or stopped) flow, for traces and link statistics.
struct FlowRecord {
  int from = 0;  // nodes
  int to = 0;
  SimTime requested{0};  // when start() was called
  SimTime active{0};     // when bytes started to move (after the route latency)
  SimTime finished{0};
  double bytes = 0;  // bytes moved
  const Route* route = nullptr;
};

class FlowObserver {
 public:
  virtual ~FlowObserver() = default;
  virtual void on_flow(const FlowRecord& record) = 0;
};

class FlowNetwork {
 public:
  static constexpr double kUnlimited = std::numeric_limits<double>::infinity();

  FlowNetwork(EventQueue& queue, const Topology& topology);

  /// Starts moving `bytes` (may be kUnlimited for background traffic) now.
  FlowId start(int from_node, int to_node, double bytes, InlineCallback done,
               double rate_cap = kUnlimited);
  FlowId start_between_gpus(int from_gpu, int to_gpu, double bytes, InlineCallback done,
                            double rate_cap = kUnlimited) {
    return start(topology_.gpu_node(from_gpu), topology_.gpu_node(to_gpu), bytes, done, rate_cap);
  }
  /// Ends a flow now without running its callback (background traffic switching off).
  void stop(FlowId id);

  /// Rate of a flow in bytes/s (0 before it is active), as of the last recomputation: changes
  /// at the current instant apply after its last event.
  double rate(FlowId id) const { return flows_.at(id).rate; }
  /// Bytes carried by each link so far by finished and stopped flows of a given size; unlimited
  /// (background) flows are not counted.
  const std::vector<double>& link_bytes() const { return link_bytes_; }
  const Topology& topology() const { return topology_; }
  EventQueue& queue() { return queue_; }
  void set_observer(FlowObserver* observer) { observer_ = observer; }
  std::size_t active_flows() const { return active_.size(); }
  std::uint64_t completed_flows() const { return completed_; }

 private:
  struct Flow {
    const Route* route = nullptr;
    int from = 0;
    int to = 0;
    double remaining = 0;  // bytes
    double total = 0;      // bytes requested
    double moved = 0;      // bytes moved so far
    double rate = 0;       // bytes/s
    double cap = kUnlimited;
    SimTime requested{0};
    SimTime activated{0};
    SimTime updated{0};
    EventId completion;
    InlineCallback done;
    bool live = false;
    bool active = false;
    bool completion_pending = false;  // `completion` is a live finish event
  };

  void activate(FlowId id);
  void finish(FlowId id);
  void remove_active(FlowId id, double moved);
  void reschedule(FlowId id, double new_rate);
  void advance();
  void reallocate();
  void request_reallocation();  // reallocate() later in this instant, once
  void release(FlowId id);

  EventQueue& queue_;
  const Topology& topology_;
  std::vector<Flow> flows_;
  std::vector<FlowId> free_;
  std::vector<FlowId> active_;
  std::vector<double> link_bytes_;
  // Scratch for progressive filling, sized once per topology.
  std::vector<double> capacity_;
  std::vector<int> unfrozen_on_link_;
  std::vector<std::vector<FlowId>> flows_on_link_;
  std::vector<int> touched_links_;
  std::vector<char> frozen_;
  std::vector<double> new_rate_;
  std::vector<int> bottlenecks_;
  FlowObserver* observer_ = nullptr;
  std::uint64_t completed_ = 0;
  bool settle_pending_ = false;
};

}  // namespace kvsim::net
