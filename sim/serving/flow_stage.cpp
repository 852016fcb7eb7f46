// A flows-mode stage's walk through a batch, step by step or in one event while its links are
// quiet (flow_stage.hpp).
#include "sim/serving/flow_stage.hpp"

#include <memory>
#include <stdexcept>

namespace kvsim::serving {

FlowStage::FlowStage(Communication& communication, const std::vector<int>& gpus)
    : communication_(communication),
      queue_(communication.network().queue()),
      gpus_(gpus),
      links_(communication.group_links(gpus)),
      exclusive_(communication.exclusive(gpus)) {}

void FlowStage::start(const IterationCompute& compute, const StageSpan& span, std::int64_t tokens,
                      Duration before, InlineCallback done) {
  compute_ = compute;
  span_ = span;
  tokens_ = tokens;
  before_ = before;
  done_ = done;
  last_ = static_cast<std::int64_t>(span.layers) *
              static_cast<std::int64_t>(compute.layer_blocks.size()) + 1;
  solo_ = gpus_.size() > 1 ? &communication_.solo(gpus_, tokens) : nullptr;
  may_be_fast_ = communication_.fast_path() && (solo_ == nullptr || solo_->resumable());
  first_ = compute.host +
           (span.first ? before + from_seconds(compute.embedding) : Duration{0});
  head_ = span.last ? from_seconds(compute.head) : Duration{0};
  all_reduce_ = solo_ != nullptr ? solo_->time : Duration{0};
  layer_ = Duration{0};
  for (std::size_t b = 0; b < compute.layer_blocks.size(); ++b) {
    block_[b] = (b == 0 ? compute.layer_sync : Duration{0}) + from_seconds(compute.layer_blocks[b]);
    layer_ += block_[b] + all_reduce_;
  }
  run_step(0);
}

// Exactly as the flow-by-flow run schedules each step's compute (rounded per block).
Duration FlowStage::compute_of(std::int64_t step) const {
  if (step == 0) return first_;
  if (step == last_) return head_;
  const auto blocks = static_cast<std::int64_t>(compute_.layer_blocks.size());
  return block_[static_cast<std::size_t>((step - 1) % blocks)];
}

// Whole ns, so summing by layers is the same as summing step by step.
Duration FlowStage::rest_from(std::int64_t step) const {
  if (step > last_) return Duration{0};
  if (step == last_) return head_;
  if (step == 0) return first_ + span_.layers * layer_ + head_;
  const auto blocks = static_cast<std::int64_t>(compute_.layer_blocks.size());
  const std::int64_t layer = (step - 1) / blocks;
  Duration rest = (span_.layers - layer - 1) * layer_ + head_;
  for (std::int64_t b = (step - 1) % blocks; b < blocks; ++b) {
    rest += block_[static_cast<std::size_t>(b)] + all_reduce_;
  }
  return rest;
}

// At a step's start the stage has nothing on the network: the rest may go in one event.
void FlowStage::run_step(std::int64_t step) {
  if (step > last_) {
    finish();
    return;
  }
  if (may_go_fast()) {
    go_fast(step);
    return;
  }
  if (is_block(step)) {
    queue_.schedule_in(compute_of(step), Phase::kCompletion,
                       [this, step] { after_compute(step); });
  } else {
    queue_.schedule_in(compute_of(step), Phase::kCompletion,
                       [this, step] { run_step(step + 1); });
  }
}

// A block's compute is done; under tensor parallelism its all-reduce runs before the next step.
// Its links quiet, the rest (from this all-reduce on) may go in one event.
void FlowStage::after_compute(std::int64_t step) {
  if (solo_ == nullptr) {
    run_step(step + 1);
    return;
  }
  if (may_go_fast()) {
    go_fast(step, true);
    return;
  }
  communication_.start_all_reduce(gpus_, tokens_, [this, step] { run_step(step + 1); });
}

bool FlowStage::may_go_fast() const {
  return may_be_fast_ && (exclusive_ || communication_.network().quiet(links_));
}

void FlowStage::go_fast(std::int64_t step, bool computed) {
  const Duration rest = rest_from(step) - (computed ? compute_of(step) : Duration{0});
  fast_since_ = queue_.now();
  fast_step_ = step;
  fast_computed_ = computed;
  fast_end_ = queue_.schedule_in(rest, Phase::kCompletion, [this] { finish(); });
  if (exclusive_) return;
  watch_ = communication_.network().watch(links_, [this] { materialise(); });
  watching_ = true;
}

// Traffic is about to become active on the group's links at now: the stage as the flow-by-flow
// run has it before now's events (those at exactly now are still to come): within a step's
// compute (its end is an event), or within its all-reduce (resumed from its start time). A
// one-event run that began at an all-reduce (fast_computed_) has its first step's compute done.
void FlowStage::materialise() {
  watching_ = false;
  queue_.cancel(fast_end_);
  const SimTime now = queue_.now();
  SimTime begin = fast_since_ - (fast_computed_ ? compute_of(fast_step_) : Duration{0});
  for (std::int64_t step = fast_step_; step <= last_; ++step) {
    const SimTime computed = begin + compute_of(step);
    if (now <= computed && !(fast_computed_ && step == fast_step_)) {
      if (is_block(step)) {
        queue_.schedule_at(computed, Phase::kCompletion, [this, step] { after_compute(step); });
      } else {
        queue_.schedule_at(computed, Phase::kCompletion, [this, step] { run_step(step + 1); });
      }
      return;
    }
    const Duration all_reduce = all_reduce_of(step);
    if (is_block(step) && solo_ != nullptr && now <= computed + all_reduce) {
      communication_.resume_all_reduce(gpus_, tokens_, *solo_, computed,
                                       [this, step] { run_step(step + 1); });
      return;
    }
    begin = computed + all_reduce;
  }
  throw std::logic_error("a one-event stage asked to continue after its end");
}

// The caller's `done` may start the next batch on this stage: nothing is read after it.
void FlowStage::finish() {
  if (watching_) {
    communication_.network().unwatch(watch_);
    watching_ = false;
  }
  const InlineCallback done = done_;
  done();
}

FlowStage& Communication::stage_walk(const std::vector<int>& gpus) {
  if (walks_.empty()) walks_.resize(static_cast<std::size_t>(s_.topology->gpu_count()));
  std::shared_ptr<FlowStage>& walk = walks_[static_cast<std::size_t>(gpus.front())];
  if (!walk) walk = std::make_shared<FlowStage>(*this, gpus);
  return *walk;
}

}  // namespace kvsim::serving
