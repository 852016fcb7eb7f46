#include "sim/network/flow_network.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace kvsim::net {

FlowNetwork::FlowNetwork(EventQueue& queue, const Topology& topology, FlowNetworkOptions options)
    : queue_(queue),
      topology_(topology),
      options_(options),
      link_bytes_(topology.links().size(), 0.0),
      active_on_link_(topology.links().size()),
      link_mark_(topology.links().size(), 0),
      capacity_(topology.links().size(), 0.0),
      unfrozen_on_link_(topology.links().size(), 0),
      flows_on_link_(topology.links().size()),
      watcher_(topology.links().size(), -1) {}

FlowId FlowNetwork::start(int from_node, int to_node, double bytes, InlineCallback done,
                          double rate_cap) {
  if (!(bytes >= 0) || !(rate_cap > 0)) {
    throw std::invalid_argument("flow size must be non-negative and its rate cap positive");
  }
  const FlowId id = new_flow(from_node, to_node, bytes, done);
  Flow& f = flows_[id];
  f.cap = rate_cap;
  f.completion = queue_.schedule_in(f.route->latency, Phase::kArrival,
                                    [this, id] { activate(id); });
  return id;
}

// A live flow requested now, not yet active.
FlowId FlowNetwork::new_flow(int from_node, int to_node, double bytes, InlineCallback done) {
  FlowId id;
  if (free_.empty()) {
    id = static_cast<FlowId>(flows_.size());
    flows_.emplace_back();
  } else {
    id = free_.back();
    free_.pop_back();
  }
  Flow& f = flows_[id];
  f = Flow{};
  f.route = &topology_.route(from_node, to_node);
  f.from = from_node;
  f.to = to_node;
  f.remaining = bytes;
  f.total = bytes;
  f.requested = queue_.now();
  f.done = done;
  f.live = true;
  return id;
}

void FlowNetwork::activate(FlowId id) {
  // A watcher puts its own flows in first (they were active before this one); it may grow
  // flows_, so the reference is taken after.
  if (live_watches_ > 0 && flows_[id].remaining > 0) fire_watches(*flows_[id].route);
  Flow& f = flows_[id];
  f.activated = queue_.now();
  f.updated = queue_.now();
  if (f.remaining <= 0) {  // an empty message: only the latency
    finish(id);
    return;
  }
  f.active = true;
  f.order = next_order_++;
  if (options_.recompute == FlowNetworkOptions::Recompute::kFull) {
    advance();
  } else {
    for (const int l : f.route->links) active_on_link_[l].push_back(id);
    touch(id);
    dirty_flows_.push_back(id);
  }
  active_.push_back(id);
  request_reallocation();
}

void FlowNetwork::finish(FlowId id) {
  Flow& f = flows_[id];
  if (f.active) {
    // Its bytes are all moved; the others' matter only once their rates change (a full
    // recomputation brings them all up to now here, as it always did).
    if (options_.recompute == FlowNetworkOptions::Recompute::kFull) advance();
    remove_active(id, f.total);
    request_reallocation();
  } else {
    for (const int l : f.route->links) link_bytes_[l] += f.total;
  }
  ++completed_;
  if (observer_ != nullptr) {
    observer_->on_flow(FlowRecord{f.from, f.to, f.requested, f.activated, queue_.now(), f.total,
                                  f.route, f.rate});
  }
  const InlineCallback done = f.done;
  release(id);
  if (done) done();
}

void FlowNetwork::stop(FlowId id) {
  Flow& f = flows_.at(id);
  if (!f.live) return;
  queue_.cancel(f.completion);
  if (f.active) {
    if (options_.recompute == FlowNetworkOptions::Recompute::kFull) {
      advance();
    } else {
      advance_flow(id);
    }
    remove_active(id, f.moved);
    request_reallocation();
  }
  release(id);
}

void FlowNetwork::remove_active(FlowId id, double moved) {
  Flow& f = flows_[id];
  f.active = false;
  active_.erase(std::find(active_.begin(), active_.end(), id));
  if (options_.recompute == FlowNetworkOptions::Recompute::kIncremental) {
    for (const int l : f.route->links) {
      std::vector<FlowId>& on = active_on_link_[l];
      *std::find(on.begin(), on.end(), id) = on.back();
      on.pop_back();
    }
    touch(id);
  }
  // Background traffic (unlimited flows) is not the workload's: counting what it moved before
  // it stopped (but not what it was still moving at the end) made link bytes depend on when
  // background periods happened to end.
  if (std::isfinite(f.total)) {
    for (const int l : f.route->links) link_bytes_[l] += moved;
  }
}

void FlowNetwork::release(FlowId id) {
  flows_[id].live = false;
  free_.push_back(id);
}

void FlowNetwork::touch(FlowId id) {
  for (const int l : flows_[id].route->links) dirty_links_.push_back(l);
}

void FlowNetwork::request_reallocation() {
  if (settle_pending_) return;
  settle_pending_ = true;
  queue_.at_end_of_instant([this] {
    settle_pending_ = false;
    reallocate();
  });
}

// Brings every active flow's remaining bytes up to now at its current rate.
void FlowNetwork::advance() {
  for (const FlowId id : active_) advance_flow(id);
}

void FlowNetwork::advance_flow(FlowId id) {
  const SimTime now = queue_.now();
  Flow& f = flows_[id];
  if (now > f.updated) {
    const double moved = f.rate * to_seconds(now - f.updated);
    f.moved += moved;
    if (std::isfinite(f.remaining)) f.remaining = std::max(0.0, f.remaining - moved);
  }
  f.updated = now;
}

// Moves a flow's completion event to match a new rate; an unchanged rate keeps its event, so
// rounding never drifts a finish time.
void FlowNetwork::reschedule(FlowId id, double new_rate) {
  Flow& f = flows_[id];
  if (f.completion_pending && new_rate == f.rate) return;
  f.rate = new_rate;
  if (f.completion_pending) queue_.cancel(f.completion);
  f.completion_pending = false;
  if (std::isinf(f.remaining) || f.rate <= 0) return;
  f.completion = queue_.schedule_in(from_seconds_ceil(f.remaining / f.rate), Phase::kCompletion,
                                    [this, id] { finish(id); });
  f.completion_pending = true;
}

}  // namespace kvsim::net
