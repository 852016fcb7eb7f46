#include "sim/network/flow_network.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace kvsim::net {

FlowNetwork::FlowNetwork(EventQueue& queue, const Topology& topology)
    : queue_(queue),
      topology_(topology),
      link_bytes_(topology.links().size(), 0.0),
      capacity_(topology.links().size(), 0.0),
      unfrozen_on_link_(topology.links().size(), 0),
      flows_on_link_(topology.links().size()) {}

FlowId FlowNetwork::start(int from_node, int to_node, double bytes, InlineCallback done,
                          double rate_cap) {
  if (!(bytes >= 0) || !(rate_cap > 0)) {
    throw std::invalid_argument("flow size must be non-negative and its rate cap positive");
  }
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
  f.cap = rate_cap;
  f.requested = queue_.now();
  f.done = done;
  f.live = true;
  f.completion = queue_.schedule_in(f.route->latency, Phase::kArrival,
                                    [this, id] { activate(id); });
  return id;
}

void FlowNetwork::activate(FlowId id) {
  Flow& f = flows_[id];
  f.activated = queue_.now();
  f.updated = queue_.now();
  if (f.remaining <= 0) {  // an empty message: only the latency
    finish(id);
    return;
  }
  advance();
  f.active = true;
  active_.push_back(id);
  request_reallocation();
}

void FlowNetwork::finish(FlowId id) {
  Flow& f = flows_[id];
  if (f.active) {
    advance();
    remove_active(id, f.total);
    request_reallocation();
  } else {
    for (const int l : f.route->links) link_bytes_[l] += f.total;
  }
  ++completed_;
  if (observer_ != nullptr) {
    observer_->on_flow(FlowRecord{f.from, f.to, f.requested, f.activated, queue_.now(), f.total,
                                  f.route});
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
    advance();
    remove_active(id, f.moved);
    request_reallocation();
  }
  release(id);
}

void FlowNetwork::remove_active(FlowId id, double moved) {
  Flow& f = flows_[id];
  f.active = false;
  active_.erase(std::find(active_.begin(), active_.end(), id));
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
  const SimTime now = queue_.now();
  for (const FlowId id : active_) {
    Flow& f = flows_[id];
    if (now > f.updated) {
      const double moved = f.rate * to_seconds(now - f.updated);
      f.moved += moved;
      if (std::isfinite(f.remaining)) f.remaining = std::max(0.0, f.remaining - moved);
    }
    f.updated = now;
  }
}

// Progressive filling: raise all unfrozen flows' rates together; when a link saturates (or a
// flow reaches its cap), freeze the flows it limits; repeat until every flow is frozen.
void FlowNetwork::reallocate() {
  touched_links_.clear();
  frozen_.assign(active_.size(), 0);
  for (std::size_t i = 0; i < active_.size(); ++i) {
    for (const int l : flows_[active_[i]].route->links) {
      if (unfrozen_on_link_[l] == 0 && flows_on_link_[l].empty()) {
        touched_links_.push_back(l);
        capacity_[l] = topology_.link(l).bandwidth;
      }
      ++unfrozen_on_link_[l];
      flows_on_link_[l].push_back(static_cast<FlowId>(i));  // index into active_
    }
  }
  std::vector<double>& new_rate = new_rate_;
  new_rate.assign(active_.size(), 0.0);
  std::size_t remaining = active_.size();
  std::size_t capped_unfrozen = 0;  // flows with a rate cap not yet frozen
  for (const FlowId id : active_) capped_unfrozen += std::isfinite(flows_[id].cap) ? 1 : 0;
  const auto freeze = [&](std::size_t i, double r) {
    frozen_[i] = 1;
    new_rate[i] = r;
    --remaining;
    if (std::isfinite(flows_[active_[i]].cap)) --capped_unfrozen;
    for (const int l : flows_[active_[i]].route->links) {
      capacity_[l] = std::max(0.0, capacity_[l] - r);
      --unfrozen_on_link_[l];
    }
  };
  std::vector<int>& bottlenecks = bottlenecks_;
  while (remaining > 0) {
    // The lowest fair share over the links, and every link at exactly that share: they all
    // saturate at this level and freeze their flows in one round, so a symmetric collective
    // (a ring's P flows on P links) takes one round, not P.
    double share = kUnlimited;
    bottlenecks.clear();
    for (const int l : touched_links_) {
      if (unfrozen_on_link_[l] == 0) continue;
      const double s = capacity_[l] / unfrozen_on_link_[l];
      if (s < share) {
        share = s;
        bottlenecks.clear();
      }
      if (s == share) bottlenecks.push_back(l);
    }
    bool capped = false;
    for (std::size_t i = 0; capped_unfrozen > 0 && i < active_.size(); ++i) {
      if (!frozen_[i] && flows_[active_[i]].cap <= share) {
        freeze(i, flows_[active_[i]].cap);
        capped = true;
      }
    }
    if (capped) continue;
    if (bottlenecks.empty()) throw std::logic_error("an uncapped flow crosses no link");
    for (const int l : bottlenecks) {
      for (const FlowId i : flows_on_link_[l]) {
        if (!frozen_[i]) freeze(i, share);
      }
    }
  }
  for (const int l : touched_links_) {
    flows_on_link_[l].clear();
    unfrozen_on_link_[l] = 0;
  }
  for (std::size_t i = 0; i < active_.size(); ++i) reschedule(active_[i], new_rate[i]);
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
