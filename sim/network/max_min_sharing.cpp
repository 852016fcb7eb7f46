// FlowNetwork's rate recomputation (flow_network.hpp): progressive filling over a list of active
// flows, run over every active flow (Recompute::kFull) or over the connected components the
// instant's changes touched (Recompute::kIncremental, the default).
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/network/flow_network.hpp"

namespace kvsim::net {

void FlowNetwork::reallocate() {
  if (options_.recompute == FlowNetworkOptions::Recompute::kIncremental) {
    reallocate_incrementally();
    return;
  }
  allocate(active_);
  recomputed_ += active_.size();
  for (std::size_t i = 0; i < active_.size(); ++i) reschedule(active_[i], new_rate_[i]);
}

// Only the components the instant's changes touched: their flows are brought up to now and
// refilled in activation order (the order of active_), and rescheduled in that order, so the
// completion events are scheduled in the order the full recomputation schedules them.
void FlowNetwork::reallocate_incrementally() {
  collect_component();
  dirty_links_.clear();
  dirty_flows_.clear();
  // In activation order: sorted when the component is small, else read off active_ (which is in
  // that order) by the search's marks, in time linear in the active flows.
  const double size = static_cast<double>(component_.size());
  if (size * std::log2(size + 1) < static_cast<double>(active_.size())) {
    std::sort(component_.begin(), component_.end(),
              [this](FlowId a, FlowId b) { return flows_[a].order < flows_[b].order; });
  } else {
    component_.clear();
    for (const FlowId id : active_) {
      if (flows_[id].mark == search_) component_.push_back(id);
    }
  }
  for (const FlowId id : component_) advance_flow(id);
  allocate(component_);
  recomputed_ += component_.size();
  for (std::size_t i = 0; i < component_.size(); ++i) reschedule(component_[i], new_rate_[i]);
  if (options_.cross_check) cross_check();
}

// Depth-first search from the links of the flows that changed (and the flows that started,
// which may cross no link) through the active flows on each link to their other links.
void FlowNetwork::collect_component() {
  ++search_;
  component_.clear();
  link_stack_.clear();
  const auto reach_flow = [this](FlowId id) {
    Flow& f = flows_[id];
    if (!f.active || f.mark == search_) return;
    f.mark = search_;
    component_.push_back(id);
    for (const int l : f.route->links) link_stack_.push_back(l);
  };
  for (const FlowId id : dirty_flows_) reach_flow(id);
  link_stack_.insert(link_stack_.end(), dirty_links_.begin(), dirty_links_.end());
  while (!link_stack_.empty()) {
    const int l = link_stack_.back();
    link_stack_.pop_back();
    if (link_mark_[l] == search_) continue;
    link_mark_[l] = search_;
    for (const FlowId id : active_on_link_[l]) reach_flow(id);
  }
}

// The links `flows` cross, each with its full bandwidth and its flows (positions in `flows`).
void FlowNetwork::load_links(const std::vector<FlowId>& flows) {
  touched_links_.clear();
  for (std::size_t i = 0; i < flows.size(); ++i) {
    for (const int l : flows_[flows[i]].route->links) {
      if (unfrozen_on_link_[l] == 0 && flows_on_link_[l].empty()) {
        touched_links_.push_back(l);
        capacity_[l] = topology_.link(l).bandwidth;
      }
      ++unfrozen_on_link_[l];
      flows_on_link_[l].push_back(static_cast<FlowId>(i));
    }
  }
}

// Progressive filling: raise all unfrozen flows' rates together; when a link saturates (or a
// flow reaches its cap), freeze the flows it limits; repeat until every flow is frozen.
// new_rate_[i] is the rate of flows[i].
void FlowNetwork::allocate(const std::vector<FlowId>& flows) {
  load_links(flows);
  frozen_.assign(flows.size(), 0);
  new_rate_.assign(flows.size(), 0.0);
  std::size_t remaining = flows.size();
  std::size_t capped_unfrozen = 0;  // flows with a rate cap not yet frozen
  for (const FlowId id : flows) capped_unfrozen += std::isfinite(flows_[id].cap) ? 1 : 0;
  const auto freeze = [&](std::size_t i, double r) {
    frozen_[i] = 1;
    new_rate_[i] = r;
    --remaining;
    if (std::isfinite(flows_[flows[i]].cap)) --capped_unfrozen;
    for (const int l : flows_[flows[i]].route->links) {
      capacity_[l] = std::max(0.0, capacity_[l] - r);
      --unfrozen_on_link_[l];
    }
  };
  while (remaining > 0) {
    // The lowest fair share over the links, and every link at exactly that share: they all
    // saturate at this level and freeze their flows in one round, so a symmetric collective
    // (a ring's P flows on P links) takes one round, not P.
    double share = kUnlimited;
    bottlenecks_.clear();
    for (const int l : touched_links_) {
      if (unfrozen_on_link_[l] == 0) continue;
      const double s = capacity_[l] / unfrozen_on_link_[l];
      if (s < share) {
        share = s;
        bottlenecks_.clear();
      }
      if (s == share) bottlenecks_.push_back(l);
    }
    bool capped = false;
    for (std::size_t i = 0; capped_unfrozen > 0 && i < flows.size(); ++i) {
      if (!frozen_[i] && flows_[flows[i]].cap <= share) {
        freeze(i, flows_[flows[i]].cap);
        capped = true;
      }
    }
    if (capped) continue;
    if (bottlenecks_.empty()) throw std::logic_error("an uncapped flow crosses no link");
    for (const int l : bottlenecks_) {
      for (const FlowId i : flows_on_link_[l]) {
        if (!frozen_[i]) freeze(i, share);
      }
    }
  }
  for (const int l : touched_links_) {
    flows_on_link_[l].clear();
    unfrozen_on_link_[l] = 0;
  }
}

// Every active flow's rate from scratch against the rates the incremental recomputations left.
void FlowNetwork::cross_check() {
  allocate(active_);
  bool capped = false;
  double fastest = 0;
  for (const FlowId id : active_) capped = capped || std::isfinite(flows_[id].cap);
  for (const Link& link : topology_.links()) fastest = std::max(fastest, link.bandwidth);
  const double tolerance = capped ? 1e-12 * fastest : 0.0;
  for (std::size_t i = 0; i < active_.size(); ++i) {
    const double incremental = flows_[active_[i]].rate;
    if (std::abs(incremental - new_rate_[i]) > tolerance) {
      throw std::logic_error(fmt::format(
          "incremental max-min sharing gave flow {} ({} -> {}) {} B/s, the full recomputation "
          "{} B/s",
          active_[i], flows_[active_[i]].from, flows_[active_[i]].to, incremental,
          new_rate_[i]));
    }
  }
}

}  // namespace kvsim::net
