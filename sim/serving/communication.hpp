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
// Flows on links of their own: a stage group whose links no other possible traffic can cross
// (no other group's collectives, no pipeline send, no background flow: see exclusive()) runs
// its all-reduces one at a time on links nobody else uses, so each takes exactly what it takes
// as flows on an idle network. solo_all_reduce() runs that flow simulation once per token
// count; the replica then prices such a stage as one event (replica_pipeline.cpp) with the
// times the flow-by-flow run gives to the nanosecond, without its ten or so events per
// all-reduce. ServingSetup::flows_fast_path = false runs every stage flow by flow (tests).

#include <optional>
#include <unordered_map>
#include <vector>

#include "sim/core/event_queue.hpp"
#include "sim/network/collectives.hpp"
#include "sim/network/heterogeneity.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::serving {

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
  }

  bool flows() const { return network_.has_value(); }

  /// Flows: no traffic but this group's own all-reduces (one at a time: a stage runs one batch)
  /// can ever cross the links between its GPUs.
  bool exclusive(const std::vector<int>& gpus) const {
    return exclusive_[static_cast<std::size_t>(gpus.front())] != 0;
  }
  /// The all-reduce's time as flows on an otherwise idle network (or the engine's custom
  /// all-reduce), what start_all_reduce takes on an exclusive group; memoised per token count.
  Duration solo_all_reduce(const std::vector<int>& gpus, std::int64_t tokens) {
    return memoised(solo_memo_, gpus.front(), tokens, [&] { return run_alone(gpus, tokens); });
  }

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
  Duration run_alone(const std::vector<int>& gpus, std::int64_t tokens) const;

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
    const std::uint64_t key = (static_cast<std::uint64_t>(group) << 40) ^
                              static_cast<std::uint64_t>(tokens);
    if (const auto it = memo.find(key); it != memo.end()) return it->second;
    return memo.emplace(key, compute()).first->second;
  }

  const Scenario& s_;
  double token_bytes_;
  std::unordered_map<std::uint64_t, Duration> all_reduce_memo_, send_memo_, solo_memo_;
  std::vector<char> exclusive_ =  // by a group's first GPU
      std::vector<char>(static_cast<std::size_t>(s_.topology->gpu_count()), 0);
  std::optional<net::FlowNetwork> network_;
  std::optional<net::CollectiveEngine> collectives_;
  std::optional<net::BackgroundTraffic> background_;
  std::vector<Send> sends_;
  std::vector<std::uint32_t> free_;
};

}  // namespace kvsim::serving
