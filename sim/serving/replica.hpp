#pragma once
// One serving replica inside a simulate_serving run: its pipeline stages, one batching engine
// per stage (vLLM's virtual engines), the batches in flight, and the accounting of what it
// completes.
//
// Who calls it: only simulate_serving (engine.cpp), which owns the event queue, routes each
// arriving request to a replica's arrive(), and reads load() for routing, sample() for the
// timeline, and the counters for the summary. Nothing outside sim/serving includes this header.
//
// What it must not do: read the workload's stream or decide arrivals (simulate_serving does);
// hold a request the client has not sent. It never throws InputError except when a request can
// never fit its KV memory (stuck()); a scheduler that breaks its limits is a bug (logic_error).
//
// Units: simulated time in SimTime/Duration; seconds (double) only where it feeds Totals and
// the observers; KV memory in tokens. Ownership: a Replica owns its KV memories (one per stage)
// and borrows everything in its ReplicaContext, which outlives it.
//
// The code is split by responsibility: replica.cpp (arrivals, batch planning and launch),
// replica_data_parallel.cpp (data-parallel attention ranks' batches launched as one),
// replica_pipeline.cpp (a batch's walk through the stages, compute and communication; a
// stage's closed-form time is stage_time.hpp's, which kvsim run's decode step shares),
// replica_completion.cpp (tokens, finished requests and their metrics).

#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "sim/core/event_queue.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/communication.hpp"
#include "sim/serving/dp_attention.hpp"
#include "sim/serving/engine.hpp"
#include "sim/serving/iteration_cost.hpp"
#include "sim/serving/memory.hpp"
#include "sim/serving/metrics.hpp"
#include "sim/serving/ring_queue.hpp"
#include "sim/serving/router.hpp"
#include "sim/serving/scheduler.hpp"
#include "sim/serving/stage_time.hpp"
#include "sim/serving/workload.hpp"

namespace kvsim::serving {

/// What every replica of one run shares; owned by simulate_serving.
struct ReplicaContext {
  const Scenario& scenario;
  const ServingSetup& setup;
  EventQueue& queue;
  Totals& totals;
  IterationCost& cost;
  Communication& communication;
  const ServingObservers& observers;
  const Workload& workload;
  std::uint64_t total_requests;
  std::function<void()> finished;  // after each request completes (the client's closed loop)
  // "data_parallel_attention": the engines are attention ranks whose batches run together,
  // priced by this (sim/serving/dp_attention.hpp); null otherwise.
  DpAttentionCost* data_parallel = nullptr;
};

/// A replica: its pipeline stages, and one scheduler per stage (vLLM's virtual engines), each
/// with its own sequences and 1/pp of the KV memory and at most one batch in flight, so that a
/// pipeline of p stages holds p batches that share no sequence.
class Replica {
 public:
  /// `memories`: one per pipeline stage, each 1/pp of the replica's KV memory.
  Replica(ReplicaContext& c, int index, std::vector<std::unique_ptr<KvMemory>> memories);

  /// A request sent to this replica now: it joins the least loaded virtual engine.
  void arrive(const Request& r);

  /// What the router reads of every replica at every arrival: inline, with the requests
  /// outstanding counted as they arrive and complete (a request is outstanding, waiting or
  /// running, from arrive() to complete(); preemption only moves it between the two).
  ReplicaLoad load() const { return {outstanding_, held(), capacity_}; }
  std::size_t outstanding() const { return outstanding_; }
  TimelineSample sample(double time) const;  // time in seconds
  std::uint64_t preemptions() const;
  std::uint64_t swaps() const;
  std::int64_t capacity() const { return capacity_; }  // KV tokens, all virtual engines together

 private:
  struct Engine {
    Engine(std::unique_ptr<KvMemory> kv, std::int64_t swap_tokens)
        : memory(std::move(kv)), state(*memory, swap_tokens) {}
    std::size_t outstanding() const { return state.waiting.size() + state.running.size(); }
    std::unique_ptr<KvMemory> memory;
    ReplicaState state;
    bool in_flight = false;
  };
  struct Stage {
    std::vector<int> gpus;
    int layers = 0;
    RingQueue<std::uint32_t> queue;  // batches waiting for this stage
    bool busy = false;
    SimTime started{0};
  };
  struct InFlight {
    Batch batch;
    std::size_t engine = 0;
    IterationCompute compute;
    std::int64_t tokens = 0;
    Duration before{0};  // serving.host_overhead and swap copies, on the first stage
    // Data-parallel attention: the iteration of every rank's batch (closed form), on the first
    // rank's flight, and the other ranks' flights, which finish with it.
    Duration data_parallel{0};
    std::vector<std::uint32_t> riders;
  };

  // The sum of f over the virtual engines.
  template <class F>
  auto total(F f) const -> std::decay_t<decltype(std::invoke(f, std::declval<const Engine&>()))> {
    std::decay_t<decltype(std::invoke(f, std::declval<const Engine&>()))> sum{};
    for (const auto& e : engines_) sum += std::invoke(f, *e);
    return sum;
  }
  std::int64_t held() const {
    return total([](const Engine& e) { return e.memory->held(); });
  }
  std::int64_t used_tokens() const;

  // replica.cpp: planning and launching batches.
  void decide();
  void try_launch();
  void launch(std::size_t engine);
  void check_limits(const Engine& e) const;
  void shape_batch(Engine& e, const Batch& batch);
  [[noreturn]] void taken_twice(const Sequence& s) const;  // a scheduler's bug
  [[noreturn]] void stuck(const Engine& e) const;
  std::uint32_t allocate();
  // replica_data_parallel.cpp: every attention rank's batch as one iteration.
  void launch_ranks();
  Duration swap_time(const Batch& batch) const;

  // replica_pipeline.cpp: a batch through the stages.
  StageSpan span(int stage) const;
  void start_stage(int stage);
  void stage_finished(int stage, std::uint32_t id);
  void report_iteration(int stage, std::uint32_t id) const;  // observers.iteration
  void send_to_next_stage(int stage, std::uint32_t id);
  void send_now(std::uint64_t from_where, Duration delay = Duration{0});

  // replica_completion.cpp: what a finished batch produces.
  void account();
  void finish(std::uint32_t id);
  void finish_one(std::uint32_t id);
  std::size_t deliver_tokens(const InFlight& f, ReplicaState& st, SimTime now);
  void retire_finished(Engine& e, SimTime now);
  void emit(Sequence& s, SimTime now, bool new_gap = true);
  void complete(Engine& e, Slot slot, SimTime now);
  void record_latencies(const Sequence& s, SimTime now);

  ReplicaContext& c_;
  int index_;
  std::vector<std::unique_ptr<Engine>> engines_;
  std::size_t next_engine_ = 0;
  std::int64_t capacity_ = 0;  // fixed at construction; the router reads it per arrival
  std::size_t outstanding_ = 0;  // requests arrived and not completed (load())
  std::uint64_t batches_ = 0;
  std::vector<Stage> stages_;
  std::vector<InFlight> flights_;
  std::vector<std::uint32_t> free_flights_;
  Batch planned_;  // the batch being planned; swapped with a flight's at launch
  IterationShape shape_;
  std::vector<IterationShape> rank_shapes_;  // data-parallel attention: each rank's batch
  std::vector<std::pair<std::int64_t, std::int64_t>> verifies_;  // speculative verify chunks
  SimTime accounted_{0};
  bool decision_pending_ = false;  // decide() has asked for the end of this instant
};

}  // namespace kvsim::serving
