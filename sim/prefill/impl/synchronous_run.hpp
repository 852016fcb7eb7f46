#pragma once
// The event-driven run of the synchronous strategies (tp and tsp, synchronous.cpp, its only
// includer): every rank runs each layer's blocks (the blocks of the layer's kind,
// layer_plan.hpp), and all ranks meet at each block's collective. Times are Durations (ns);
// collective buffers in bytes.

#include <optional>
#include <vector>

#include "sim/prefill/process_run.hpp"

namespace kvsim::prefill {

// One block of a layer: compute on every rank, then optionally a collective.
struct Block {
  const char* name;
  std::vector<Duration> compute;  // per rank
  bool has_collective = false;
  net::CollectiveKind kind{};
  double bytes = 0;  // collective buffer size
  const char* collective_name = "";
  // The engine's custom all-reduce: a fixed time in closed form instead of flows on the network.
  std::optional<Duration> closed_form;
  // The collective's lanes when not the run's (the expert-parallel groups' all-to-alls).
  std::vector<std::vector<int>> lanes;
};

// Runs the model's layers on all ranks, each layer the list of blocks of its kind (kinds[k],
// layer i of kind of_layer[i]; layer_plan.hpp). Ranks proceed independently through compute
// and meet at each collective (it starts when the last rank arrives). A collective runs on
// every lane at once (lanes[k]: the GPUs taking part, one per rank; one lane of every GPU for
// tp, one per TP shard for a two-level layout) and ends when all lanes have.
class SynchronousRun {
 public:
  SynchronousRun(const PrefillSetup& setup, std::vector<std::vector<int>> lanes,
                 std::vector<std::vector<Block>> kinds, const std::vector<int>& of_layer,
                 Duration embedding, Duration head, bool record_trace)
      : lanes_(std::move(lanes)),
        kinds_(std::move(kinds)),
        embedding_(embedding),
        head_(head),
        p_(static_cast<int>(lanes_.front().size())),
        run_(setup, p_, record_trace),
        position_(static_cast<std::size_t>(p_), 0) {
    for (std::size_t layer = 0; layer < of_layer.size(); ++layer) {
      for (const Block& b : kinds_[static_cast<std::size_t>(of_layer[layer])]) {
        steps_.push_back(&b);
        step_layer_.push_back(static_cast<int>(layer));
      }
    }
  }

  PrefillResult run() {
    for (int r = 0; r < p_; ++r) {
      run_.net.queue.schedule_at(SimTime{0}, Phase::kDecision, [this, r] {
        run_.compute(r, embedding_, Timeline::kNone, "embedding", -1, [this, r] { step(r); });
      });
    }
    return run_.run();
  }

 private:
  int total_steps() const { return static_cast<int>(steps_.size()); }

  // Rank r runs its next block's compute, then joins the block's collective.
  void step(int r) {
    const int s = position_[r];
    if (s == total_steps()) {
      finish(r);
      return;
    }
    const Block& b = *steps_[static_cast<std::size_t>(s)];
    const int layer = step_layer_[static_cast<std::size_t>(s)];
    const int after = run_.timeline.later(run_.last[r], collective_activity_);
    run_.compute(r, b.compute[r], after, b.name, layer, [this, r] { arrive(r); });
  }

  void arrive(int r) {
    const int s = position_[r]++;
    const Block& b = *steps_[static_cast<std::size_t>(s)];
    if (!b.has_collective) {
      step(r);
      return;
    }
    if (++arrived_ < p_) return;
    arrived_ = 0;
    collective_start_ = run_.net.queue.now();
    collective_after_ = run_.last[r];  // the last rank to arrive released the collective
    collective_layer_ = step_layer_[static_cast<std::size_t>(s)];
    collective_name_ = b.collective_name;
    if (b.closed_form) {
      run_.net.queue.schedule_in(*b.closed_form, Phase::kCompletion, [this] { released(); });
    } else {
      const auto& lanes = b.lanes.empty() ? lanes_ : b.lanes;
      lanes_left_ = static_cast<int>(lanes.size());
      for (const auto& lane : lanes) {
        run_.net.collectives.start(b.kind, lane, b.bytes, [this] {
          if (--lanes_left_ == 0) released();
        });
      }
    }
  }

  void released() {
    collective_activity_ = run_.timeline.communication(collective_start_, run_.net.queue.now(),
                                                   collective_after_, collective_name_,
                                                   collective_layer_);
    for (int r = 0; r < p_; ++r) step(r);
  }

  void finish(int r) {
    if (r != p_ - 1) return;  // the last part's GPU produces the first token
    const int after = run_.timeline.later(run_.last[r], collective_activity_);
    run_.compute(r, head_, after, "lm_head", -1, [this, r] {
      run_.first_token(r);
    });
  }

  std::vector<std::vector<int>> lanes_;
  int lanes_left_ = 0;
  std::vector<std::vector<Block>> kinds_;
  std::vector<const Block*> steps_;  // every layer's blocks in order (into kinds_)
  std::vector<int> step_layer_;      // the layer of each step
  Duration embedding_;
  Duration head_;
  int p_;
  ProcessRun run_;
  std::vector<int> position_;  // blocks completed per rank
  int arrived_ = 0;
  int collective_activity_ = Timeline::kNone;
  int collective_after_ = Timeline::kNone;
  SimTime collective_start_{0};
  int collective_layer_ = 0;
  const char* collective_name_ = "";
};

}  // namespace kvsim::prefill
