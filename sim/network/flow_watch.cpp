// FlowNetwork's lazy traffic (flow_network.hpp): watches on links, and flows put in backdated by
// a client that ran them in closed form while they were alone.
#include <stdexcept>

#include "sim/network/flow_network.hpp"

namespace kvsim::net {

std::uint32_t FlowNetwork::watch(const std::vector<int>& links, InlineCallback on_traffic) {
  std::uint32_t handle;
  if (free_watches_.empty()) {
    handle = static_cast<std::uint32_t>(watches_.size());
    watches_.emplace_back();
  } else {
    handle = free_watches_.back();
    free_watches_.pop_back();
  }
  Watch& w = watches_[handle];
  w.links.assign(links.begin(), links.end());
  w.on_traffic = on_traffic;
  w.live = true;
  for (const int l : links) {
    if (watcher_[static_cast<std::size_t>(l)] >= 0) {
      throw std::logic_error("a link watched twice: watch only quiet links");
    }
    watcher_[static_cast<std::size_t>(l)] = static_cast<int>(handle);
  }
  ++live_watches_;
  return handle;
}

void FlowNetwork::unwatch(std::uint32_t handle) {
  Watch& w = watches_[handle];
  if (!w.live) return;
  w.live = false;
  for (const int l : w.links) watcher_[static_cast<std::size_t>(l)] = -1;
  free_watches_.push_back(handle);
  --live_watches_;
}

bool FlowNetwork::quiet(const std::vector<int>& links) const {
  if (options_.recompute != FlowNetworkOptions::Recompute::kIncremental) return false;
  for (const int l : links) {
    const auto i = static_cast<std::size_t>(l);
    if (watcher_[i] >= 0 || !active_on_link_[i].empty()) return false;
  }
  return true;
}

// Each watch on the route's links ends, then its callback runs (it may adopt flows, watch other
// links or end further watches, so each link is read afresh).
void FlowNetwork::fire_watches(const Route& route) {
  for (const int l : route.links) {
    const int handle = watcher_[static_cast<std::size_t>(l)];
    if (handle < 0) continue;
    const InlineCallback on_traffic = watches_[static_cast<std::size_t>(handle)].on_traffic;
    unwatch(static_cast<std::uint32_t>(handle));
    on_traffic();
  }
}

// The state the flow-by-flow run has for this flow now: activated at `activated`, its bytes last
// brought up to date then (nothing shared its links since, so no recomputation advanced it), its
// completion event where the sharing put it. Only its own component's next recomputation (the
// arriving traffic's) reads or changes that, exactly as it would have.
FlowId FlowNetwork::adopt(int from_node, int to_node, double bytes, SimTime requested,
                          SimTime activated, double rate, InlineCallback done) {
  if (options_.recompute != FlowNetworkOptions::Recompute::kIncremental || !(bytes > 0) ||
      !(rate > 0) || requested > queue_.now() || activated < requested) {
    throw std::logic_error("adopt: only a requested, non-empty flow under incremental sharing");
  }
  const FlowId id = new_flow(from_node, to_node, bytes, done);
  Flow& f = flows_[id];
  f.requested = requested;
  if (activated >= queue_.now()) {
    f.completion = queue_.schedule_at(activated, Phase::kArrival, [this, id] { activate(id); });
    return id;
  }
  f.activated = activated;
  f.updated = activated;
  f.active = true;
  f.order = next_order_++;
  f.rate = rate;
  for (const int l : f.route->links) active_on_link_[static_cast<std::size_t>(l)].push_back(id);
  active_.push_back(id);
  f.completion = queue_.schedule_at(activated + from_seconds_ceil(bytes / rate),
                                    Phase::kCompletion, [this, id] { finish(id); });
  f.completion_pending = true;
  return id;
}

}  // namespace kvsim::net
