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
// Incremental sharing (the default): max-min rates are separable over connected components
// (links and the flows crossing them, joined transitively through shared links), so a change
// recomputes only the components that touch the links of the flows that started, finished or
// stopped at this instant, and brings only their flows' byte counts up to now. The component's
// flows are filled in activation order, the order the full recomputation uses, so for flows
// without a rate cap the rates are the same doubles the full recomputation gives. With rate
// caps they agree to rounding (the full pass freezes capped flows in rounds set by other
// components' shares, so it may subtract the same caps from a link in another order).
// Recompute::kFull is the earlier algorithm (every active flow, every time); cross_check runs
// it after each incremental recomputation and throws std::logic_error on a difference.
//
// Lazy traffic (flow_watch.cpp): a client that knows what its flows would do alone (serving's
// one-event stages: CollectiveEngine::solo) may run them in closed form while nothing else is
// on their links. It watches those links; the first flow to become active on one of them calls
// the watch's callback first, before joining, and the client puts its flows in as they are at
// that moment (adopt: backdated, at their solo rates), so the sharing that follows is what the
// flow-by-flow run computes. Incremental sharing only (quiet() is false under kFull).
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
  double rate = 0;  // bytes/s at the end (the last rate the sharing gave it)
};

class FlowObserver {
 public:
  virtual ~FlowObserver() = default;
  virtual void on_flow(const FlowRecord& record) = 0;
};

struct FlowNetworkOptions {
  enum class Recompute { kIncremental, kFull };
  Recompute recompute = Recompute::kIncremental;
  /// Debug: after each incremental recomputation, recompute every flow's rate from scratch and
  /// throw std::logic_error unless the two agree (exactly where no flow has a rate cap, else to
  /// 1e-12 of the fastest link's bandwidth).
  bool cross_check = false;
};

class FlowNetwork {
 public:
  static constexpr double kUnlimited = std::numeric_limits<double>::infinity();

  FlowNetwork(EventQueue& queue, const Topology& topology, FlowNetworkOptions options = {});

  /// Starts moving `bytes` (may be kUnlimited for background traffic) now.
  FlowId start(int from_node, int to_node, double bytes, InlineCallback done,
               double rate_cap = kUnlimited);
  FlowId start_between_gpus(int from_gpu, int to_gpu, double bytes, InlineCallback done,
                            double rate_cap = kUnlimited) {
    return start(topology_.gpu_node(from_gpu), topology_.gpu_node(to_gpu), bytes, done, rate_cap);
  }
  /// Ends a flow now without running its callback (background traffic switching off).
  void stop(FlowId id);

  /// Lazy traffic: calls `on_traffic` (once; the watch then ends) when a flow is about to
  /// become active on one of `links`, before it joins. A link has at most one watch: watch only
  /// quiet() links. Returns the watch's handle for unwatch().
  std::uint32_t watch(const std::vector<int>& links, InlineCallback on_traffic);
  void unwatch(std::uint32_t handle);
  /// No active flow crosses any of `links` and nobody watches them (always false under kFull,
  /// whose byte counts advance on every change anywhere, so no flow can be put in backdated).
  bool quiet(const std::vector<int>& links) const;
  /// Puts in a flow that has been alone on its route since it was requested: requested at
  /// `requested` (<= now), active from `activated` at `rate` (what the sharing gave it alone),
  /// so finishing at activated + ceil_ns(bytes / rate) unless sharing now changes its rate.
  /// With activated >= now it becomes active then, as start() would make it.
  FlowId adopt(int from_node, int to_node, double bytes, SimTime requested, SimTime activated,
               double rate, InlineCallback done);

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
  const FlowNetworkOptions& options() const { return options_; }
  /// Flows whose rates the recomputations so far have set (each flow once per recomputation
  /// that included it): the work incremental sharing saves shows here.
  std::uint64_t flows_recomputed() const { return recomputed_; }

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
    std::uint64_t order = 0;  // activation sequence: active_ is sorted by it
    std::uint64_t mark = 0;   // last component search that reached it
  };

  void activate(FlowId id);
  void finish(FlowId id);
  void remove_active(FlowId id, double moved);
  void reschedule(FlowId id, double new_rate);
  void advance();                // every active flow's bytes up to now (full recomputation)
  void advance_flow(FlowId id);  // one flow's bytes up to now
  void reallocate();
  void reallocate_incrementally();
  void collect_component();   // component_: the flows the instant's changes can affect
  void allocate(const std::vector<FlowId>& flows);  // progressive filling into new_rate_
  void load_links(const std::vector<FlowId>& flows);
  void cross_check();
  void request_reallocation();  // reallocate() later in this instant, once
  void touch(FlowId id);        // its links' components need new rates
  void release(FlowId id);
  FlowId new_flow(int from_node, int to_node, double bytes, InlineCallback done);
  void fire_watches(const Route& route);  // the watches on its links, before it activates

  EventQueue& queue_;
  const Topology& topology_;
  FlowNetworkOptions options_;
  std::vector<Flow> flows_;
  std::vector<FlowId> free_;
  std::vector<FlowId> active_;
  std::vector<double> link_bytes_;
  // Incremental sharing: the active flows on each link (any order), what changed this instant,
  // and the component search's marks and results.
  std::vector<std::vector<FlowId>> active_on_link_;
  std::vector<int> dirty_links_;
  std::vector<FlowId> dirty_flows_;  // activated this instant (a flow may cross no link)
  std::vector<std::uint64_t> link_mark_;
  std::vector<int> link_stack_;
  std::vector<FlowId> component_;
  std::uint64_t search_ = 0;
  std::uint64_t next_order_ = 0;
  std::uint64_t recomputed_ = 0;
  std::vector<double> check_rate_;  // cross_check: the full recomputation's rates by FlowId
  // Scratch for progressive filling, sized once per topology.
  std::vector<double> capacity_;
  std::vector<int> unfrozen_on_link_;
  std::vector<std::vector<FlowId>> flows_on_link_;  // positions in the list being filled
  std::vector<int> touched_links_;
  std::vector<char> frozen_;
  std::vector<double> new_rate_;
  std::vector<int> bottlenecks_;
  // Lazy traffic: per link the watch on it (-1: none); the watches (links, callback, live).
  struct Watch {
    std::vector<int> links;
    InlineCallback on_traffic;
    bool live = false;
  };
  std::vector<int> watcher_;
  std::vector<Watch> watches_;
  std::vector<std::uint32_t> free_watches_;
  std::size_t live_watches_ = 0;
  FlowObserver* observer_ = nullptr;
  std::uint64_t completed_ = 0;
  bool settle_pending_ = false;
};

}  // namespace kvsim::net
