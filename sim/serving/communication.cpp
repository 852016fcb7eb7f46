// Communication's flow fast path (communication.hpp): which stage groups have links to
// themselves, and an all-reduce as flows on an idle network (its time and its flows' timeline).
#include "sim/serving/communication.hpp"

#include <algorithm>

namespace kvsim::serving {
namespace {

// Every link a route between two of `gpus` crosses: any collective algorithm among them uses
// no other.
void add_group_links(const net::Topology& t, const std::vector<int>& gpus,
                     std::vector<int>& links) {
  for (const int a : gpus) {
    for (const int b : gpus) {
      if (a == b) continue;
      const auto& route = t.gpu_route(a, b).links;
      links.insert(links.end(), route.begin(), route.end());
    }
  }
}

}  // namespace

std::vector<int> Communication::group_links(const std::vector<int>& gpus) const {
  std::vector<int> links;
  add_group_links(*s_.topology, gpus, links);
  std::sort(links.begin(), links.end());
  links.erase(std::unique(links.begin(), links.end()), links.end());
  return links;
}

// Each possible source of flows (a stage group's all-reduces, the sends between two stages of
// a replica, a background flow) counts once on each link it may cross; a group is exclusive when
// it is the only source on each of its links.
void Communication::find_exclusive_groups(const ServingSetup& setup) {
  const net::Topology& t = *s_.topology;
  std::vector<int> sources_on_link(t.links().size(), 0);
  std::vector<int> links;
  const auto count = [&] {
    std::sort(links.begin(), links.end());
    links.erase(std::unique(links.begin(), links.end()), links.end());
    for (const int l : links) ++sources_on_link[static_cast<std::size_t>(l)];
  };
  for (int r = 0; r < setup.replicas; ++r) {
    for (int st = 0; st < setup.pipeline_parallel; ++st) {
      links.clear();
      add_group_links(t, setup.stage_gpus(r, st), links);
      count();
      if (st == 0) continue;
      links.clear();
      const std::vector<int> from = setup.stage_gpus(r, st - 1), to = setup.stage_gpus(r, st);
      for (std::size_t k = 0; k < from.size(); ++k) {
        const auto& route = t.gpu_route(from[k], to[k]).links;
        links.insert(links.end(), route.begin(), route.end());
      }
      count();
    }
  }
  for (const net::BackgroundFlowSpec& b : s_.background) {
    links = t.route(b.from, b.to).links;
    count();
  }
  for (int r = 0; r < setup.replicas; ++r) {
    for (int st = 0; st < setup.pipeline_parallel; ++st) {
      const std::vector<int> gpus = setup.stage_gpus(r, st);
      links.clear();
      add_group_links(t, gpus, links);
      bool alone = true;
      for (const int l : links) alone = alone && sources_on_link[static_cast<std::size_t>(l)] == 1;
      exclusive_[static_cast<std::size_t>(gpus.front())] = static_cast<char>(alone);
    }
  }
}

// The flow simulation of one all-reduce on this topology with nothing else on it, exactly as
// start_all_reduce runs it (the same network options, protocols and custom all-reduce).
SoloAllReduce Communication::run_alone(const std::vector<int>& gpus, std::int64_t tokens) const {
  SoloAllReduce solo;
  if (const auto custom = custom_all_reduce(gpus, tokens)) {
    solo.time = *custom;
    solo.custom = true;
    return solo;
  }
  solo.flows = collectives_->solo(net::CollectiveKind::kAllReduce, gpus,
                                  static_cast<double>(tokens) * token_bytes_);
  solo.time = solo.flows.time;
  return solo;
}

const SoloAllReduce& Communication::solo(const std::vector<int>& gpus, std::int64_t tokens) {
  const std::uint64_t k = key(gpus.front(), tokens);
  if (const auto it = solo_memo_.find(k); it != solo_memo_.end()) return it->second;
  return solo_memo_.emplace(k, run_alone(gpus, tokens)).first->second;
}

// The custom all-reduce is one event at its end, as start_all_reduce schedules it.
void Communication::resume_all_reduce(const std::vector<int>& gpus, std::int64_t tokens,
                                      const SoloAllReduce& solo, SimTime started,
                                      InlineCallback done) {
  if (solo.custom) {
    network_->queue().schedule_at(started + solo.time, Phase::kCompletion, done);
    return;
  }
  collectives_->resume(net::CollectiveKind::kAllReduce, gpus,
                       static_cast<double>(tokens) * token_bytes_, solo.flows, started, done);
}

}  // namespace kvsim::serving
