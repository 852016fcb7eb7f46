#pragma once
// The communication of tensor- and pipeline-parallel serving replicas: the all-reduce of a
// stage's hidden states among its tensor-parallel ranks, and the send of them from one pipeline
// stage to the next (each rank its 1/tp share to its peer). In closed form over each route's
// bottleneck with the scenario's collective protocols (memoised per group and token count), or
// as flows on the shared network with the scenario's background traffic. An engine's custom
// all-reduce (peer-memory one-shot/two-shot) replaces NCCL's for messages up to its max_bytes,
// in closed form in both modes: its time is the engine's latency + bytes / bandwidth, and it
// puts no flows on the network (so it neither slows nor is slowed by other traffic).
//
// Flows in closed form while they are alone (flow_stage.hpp): a flows-mode stage runs as one
// event, its length the sum of the steps the flow-by-flow run takes (each all-reduce's flows
// simulated once alone per token count: solo()), for as long as nothing else is on its links;
// when traffic arrives on one (a pipeline send, another group, a background flow), the stage
// continues as flows from exactly where it is (resume_all_reduce), and goes back to one event
// at a later step once its links are quiet. A stage group whose links no other possible traffic
// can cross (exclusive(): no other group's collectives, no pipeline send, no background flow)
// needs no watching. ServingSetup::flows_fast_path = false runs every stage flow by flow
// (tests).

#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "sim/core/event_queue.hpp"
#include "sim/network/collectives.hpp"
#include "sim/network/heterogeneity.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::serving {

class FlowStage;

/// An all-reduce's time alone on the network, and how to put it back as flows partway.
struct SoloAllReduce {
  Duration time{0};
  bool custom = false;          // the engine's custom all-reduce: no flows, a fixed time
  net::SoloCollective flows;    // otherwise, its flows alone
  bool resumable() const { return custom || flows.resumable; }
};

class Communication {
 public:
  Communication(const Scenario& s, bool flows, EventQueue& q)
      : s_(s), token_bytes_(static_cast<double>(s.model.hidden_size) *
                            bytes_of(s.precision.activations)) {
    if (flows) {
      network_.emplace(q, *s.topology);
      collectives_.emplace(*network_, s.collectives);
      background_.emplace(*network_, s.background, RandomStreams(s.seed));
      background_->start();
    }
  }

  /// A serving run's: in setup.flows mode, also works out which stage groups are exclusive.
  Communication(const Scenario& s, const ServingSetup& setup, EventQueue& q)
      : Communication(s, setup.flows, q) {
    if (setup.flows && setup.flows_fast_path) find_exclusive_groups(setup);
    fast_path_ = setup.flows_fast_path;
  }

  bool flows() const { return network_.has_value(); }
  /// Flows: stages may run in closed form while alone (false: flow by flow, for tests).
  bool fast_path() const { return fast_path_; }
  net::FlowNetwork& network() { return *network_; }
  /// Flows: the stage group's walk through a batch (one per group: a stage runs one batch).
  FlowStage& stage_walk(const std::vector<int>& gpus);
  /// Every link a route between two of `gpus` crosses: their collectives use no other.
  std::vector<int> group_links(const std::vector<int>& gpus) const;

  /// Flows: no traffic but this group's own all-reduces (one at a time: a stage runs one batch)
  /// can ever cross the links between its GPUs.
  bool exclusive(const std::vector<int>& gpus) const {
    return exclusive_[static_cast<std::size_t>(gpus.front())] != 0;
  }
  /// The all-reduce's time as flows on an otherwise idle network (or the engine's custom
  /// all-reduce), what start_all_reduce takes while nothing else shares its links, with its
  /// flows' timeline; memoised per group and token count (the reference stays valid).
  const SoloAllReduce& solo(const std::vector<int>& gpus, std::int64_t tokens);
  Duration solo_all_reduce(const std::vector<int>& gpus, std::int64_t tokens) {
    return solo(gpus, tokens).time;
  }
  /// Continues, now, an all-reduce that started at `started` and has run alone since (as
  /// `solo`, resumable, says) as start_all_reduce would have run it.
  void resume_all_reduce(const std::vector<int>& gpus, std::int64_t tokens,
                         const SoloAllReduce& solo, SimTime started, InlineCallback done);

  /// All-reduce of `tokens` hidden states among `gpus`.
  Duration all_reduce(const std::vector<int>& gpus, std::int64_t tokens) {
    return memoised(all_reduce_memo_, gpus.front(), tokens, [&] {
      const double bytes = static_cast<double>(tokens) * token_bytes_;
      if (const auto custom = custom_all_reduce(gpus, tokens)) return *custom;
      const auto kind = net::CollectiveKind::kAllReduce;
      return net::collective_time(*s_.topology, gpus, kind, s_.collectives.algorithm, bytes,
                                  net::choose_protocol(*s_.topology, gpus, kind, s_.collectives,
                                                       bytes));
    });
  }
  /// Each rank of `from` sends its 1/tp share of `tokens` hidden states to its peer in `to`.
  Duration send(const std::vector<int>& from, const std::vector<int>& to, std::int64_t tokens) {
    return memoised(send_memo_, from.front(), tokens, [&] {
      Duration slowest{0};
      for (std::size_t r = 0; r < from.size(); ++r) {
        const net::Route& route = s_.topology->gpu_route(from[r], to[r]);
        slowest = std::max(slowest, net::message_time(route, share(from, tokens),
                                                      s_.collectives.point_to_point));
      }
      return slowest;
    });
  }

  void start_all_reduce(const std::vector<int>& gpus, std::int64_t tokens, InlineCallback done) {
    if (const auto custom = custom_all_reduce(gpus, tokens)) {
      network_->queue().schedule_in(*custom, Phase::kCompletion, done);
      return;
    }
    collectives_->start(net::CollectiveKind::kAllReduce, gpus,
                        static_cast<double>(tokens) * token_bytes_, done);
  }
  void start_send(const std::vector<int>& from, const std::vector<int>& to, std::int64_t tokens,
                  InlineCallback done) {
    std::uint32_t id;
    if (free_.empty()) {
      id = static_cast<std::uint32_t>(sends_.size());
      sends_.emplace_back();
    } else {
      id = free_.back();
      free_.pop_back();
    }
    sends_[id] = {static_cast<int>(from.size()), done, from, to, tokens};
    const Duration delay = s_.collectives.point_to_point.step_latency;
    if (delay == Duration{0}) {
      begin_send(id);
    } else {
      network_->queue().schedule_in(delay, Phase::kDecision, [this, id] { begin_send(id); });
    }
  }

 private:
  std::optional<Duration> custom_all_reduce(const std::vector<int>& gpus,
                                            std::int64_t tokens) const {
    return s_.engine.custom_all_reduce(static_cast<double>(tokens) * token_bytes_,
                                       static_cast<std::int64_t>(gpus.size()));
  }

  void find_exclusive_groups(const ServingSetup& setup);
  SoloAllReduce run_alone(const std::vector<int>& gpus, std::int64_t tokens) const;

  struct Send {
    int pending = 0;
    InlineCallback done;
    std::vector<int> from, to;
    std::int64_t tokens = 0;
  };

  // The flows of a send, once its fixed cost has passed: bytes / efficiency each.
  void begin_send(std::uint32_t id) {
    const Send& send = sends_[id];
    for (std::size_t r = 0; r < send.from.size(); ++r) {
      // The efficiency of the route's bottleneck link kind (nvlink, pcie, network).
      const double efficiency = s_.collectives.point_to_point.efficiency_between(
          network_->topology(), send.from[r], send.to[r]);
      network_->start_between_gpus(send.from[r], send.to[r],
                                   share(send.from, send.tokens) / efficiency, [this, id] {
                                     if (--sends_[id].pending > 0) return;
                                     free_.push_back(id);
                                     sends_[id].done();
                                   });
    }
  }

  double share(const std::vector<int>& group, std::int64_t tokens) const {
    return static_cast<double>(tokens) * token_bytes_ / static_cast<double>(group.size());
  }
  template <class F>
  static Duration memoised(std::unordered_map<std::uint64_t, Duration>& memo, int group,
                           std::int64_t tokens, F compute) {
    if (const auto it = memo.find(key(group, tokens)); it != memo.end()) return it->second;
    return memo.emplace(key(group, tokens), compute()).first->second;
  }
  static std::uint64_t key(int group, std::int64_t tokens) {
    return (static_cast<std::uint64_t>(group) << 40) ^ static_cast<std::uint64_t>(tokens);
  }

  const Scenario& s_;
  double token_bytes_;
  std::unordered_map<std::uint64_t, Duration> all_reduce_memo_, send_memo_;
  std::unordered_map<std::uint64_t, SoloAllReduce> solo_memo_;
  bool fast_path_ = true;
  // By a group's first GPU; shared_ptr because FlowStage is incomplete here (its deleter is
  // bound where it is made, in flow_stage.cpp).
  std::vector<std::shared_ptr<FlowStage>> walks_;
  std::vector<char> exclusive_ =  // by a group's first GPU
      std::vector<char>(static_cast<std::size_t>(s_.topology->gpu_count()), 0);
  std::optional<net::FlowNetwork> network_;
  std::optional<net::CollectiveEngine> collectives_;
  std::optional<net::BackgroundTraffic> background_;
  std::vector<Send> sends_;
  std::vector<std::uint32_t> free_;
};

}  // namespace kvsim::serving
