#pragma once
// A pipeline stage's walk through one batch in flows mode, for Replica::start_stage (one
// FlowStage per stage group, owned by Communication::stage_walk; a stage runs one batch at a
// time). The steps are those of the flow-by-flow run: step 0 the engine's host time (and on the
// first stage the replica's host overhead and swaps, then the embedding); steps
// 1 .. layers x blocks one block's compute (the first of a layer after the engine's layer sync)
// then, under tensor parallelism, its all-reduce as flows; the last step the LM head on the last
// stage. Units: Duration / SimTime (ns); compute rounded per block as the flow-by-flow run does.
//
// The fast path, exact: at the start of any step or all-reduce, when no flow is active on the group's links
// and nobody watches them (FlowNetwork::quiet), the rest of the stage is one event, its length
// the sum of the remaining steps with each all-reduce as long as it takes alone
// (Communication::solo). The stage watches its links meanwhile; the first flow to become active
// on one of them (a pipeline send, another group, a background flow) makes the stage continue
// as flows from exactly where it is at that instant: the current compute's end as an event, or
// the current all-reduce resumed (its next step awaited, or its step's flows put in with the
// bytes they have left), so the sharing from then on is the flow-by-flow run's. At a later
// step's start with its links quiet again, the rest is one event again. A group no other
// traffic can ever reach (Communication::exclusive) needs no watch; an all-reduce whose steps'
// flows do not keep one rate and finish together alone (not resumable) keeps the stage flow by
// flow, and so does ServingSetup::flows_fast_path = false.

#include <array>
#include <cstdint>
#include <vector>

#include "sim/core/event_queue.hpp"
#include "sim/serving/communication.hpp"
#include "sim/serving/iteration_cost.hpp"
#include "sim/serving/stage_time.hpp"

namespace kvsim::serving {

class FlowStage {
 public:
  FlowStage(Communication& communication, const std::vector<int>& gpus);

  /// Runs one batch's share of this stage from now: `before` is the time spent on the first
  /// stage before the embedding (host overhead, swaps); `done` runs when the stage is over.
  void start(const IterationCompute& compute, const StageSpan& span, std::int64_t tokens,
             Duration before, InlineCallback done);

 private:
  bool is_block(std::int64_t step) const { return step > 0 && step < last_; }
  Duration compute_of(std::int64_t step) const;  // the step's compute (or host, or head)
  Duration all_reduce_of(std::int64_t step) const {  // its all-reduce alone, if any
    return is_block(step) ? all_reduce_ : Duration{0};
  }
  Duration rest_from(std::int64_t step) const;  // the steps from `step` on, summed
  void run_step(std::int64_t step);
  void after_compute(std::int64_t step);
  bool may_go_fast() const;
  void go_fast(std::int64_t step, bool computed = false);  // computed: from its all-reduce
  void materialise();
  void finish();

  Communication& communication_;
  EventQueue& queue_;
  std::vector<int> gpus_;
  std::vector<int> links_;  // every link the group's all-reduces may cross
  bool exclusive_ = false;
  // The batch.
  IterationCompute compute_;
  StageSpan span_;
  std::int64_t tokens_ = 0;
  Duration before_{0};
  InlineCallback done_;
  std::int64_t last_ = 0;  // the head's step; last_ + 1 ends the stage
  // Its steps' times, as the flow-by-flow run schedules them (compute rounded per block).
  Duration first_{0};  // step 0: host (+ before and embedding on the first stage)
  std::array<Duration, 2> block_{};  // a layer's blocks (the first after the layer sync)
  Duration head_{0};
  Duration all_reduce_{0};  // each block's all-reduce alone (0 without tensor parallelism)
  Duration layer_{0};       // one layer: its blocks and all-reduces
  const SoloAllReduce* solo_ = nullptr;  // its all-reduce alone (tensor parallelism only)
  bool may_be_fast_ = false;
  // One event since fast_since_, from step fast_step_ on, ending with fast_end_.
  SimTime fast_since_{0};
  std::int64_t fast_step_ = 0;
  bool fast_computed_ = false;  // fast_step_'s compute was done at fast_since_
  EventId fast_end_;
  std::uint32_t watch_ = 0;
  bool watching_ = false;
};

}  // namespace kvsim::serving
