// Communication's flow fast path (communication.hpp): which stage groups have links to
// themselves, and the time of an all-reduce as flows on an idle network.
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
Duration Communication::run_alone(const std::vector<int>& gpus, std::int64_t tokens) const {
  if (const auto custom = custom_all_reduce(gpus, tokens)) return *custom;
  EventQueue queue;
  net::FlowNetwork network(queue, *s_.topology, network_->options());
  net::CollectiveEngine collectives(network, s_.collectives);
  SimTime end{0};
  collectives.start(net::CollectiveKind::kAllReduce, gpus,
                    static_cast<double>(tokens) * token_bytes_, [&end, &queue] {
                      end = queue.now();
                    });
  queue.run();
  return end;
}

}  // namespace kvsim::serving
