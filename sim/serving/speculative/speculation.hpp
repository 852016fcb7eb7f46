#pragma once
// Speculative decoding inside a serving run: how many tokens each decoding sequence drafts and
// the target verifies, what the drafting of a batch costs, the accepted length of each step,
// and the run's tallies for summary.json's "speculative".
//
// A sequence with r output tokens still to emit drafts min(k, r - 1): the step emits at most
// r tokens, and its verify writes at most prompt + output - 1 tokens of KV (what a sequence
// holds at its longest without speculation), so every memory manager's bound holds. The
// verified tokens count in the scheduler's token budget and in KV memory while the pass runs;
// the rejected ones' KV is rolled back (not counted as cached; their slots are reused by the
// next step, which always needs at least as many).
//
// Who calls it: the schedulers (ReplicaState::decode_tokens), the replica when it launches a
// batch (draft time, verify shape) and when it delivers one (accept), simulate_serving for the
// summary. One per serving run; not shared between threads.

#include <cstdint>
#include <memory>

#include "sim/serving/scheduler.hpp"
#include "sim/serving/speculative/drafter.hpp"

namespace kvsim::serving::speculative {

class Speculation {
 public:
  Speculation(std::unique_ptr<Drafter> drafter, std::uint64_t seed)
      : drafter_(std::move(drafter)), seed_(seed) {}

  const Drafter& drafter() const { return *drafter_; }
  /// Draft tokens `s` proposes at its next decode.
  std::int64_t drafts(const Sequence& s) const;
  /// Tokens its verify pass runs (1 without drafts).
  std::int64_t verify_tokens(const Sequence& s) const {
    return drafter_->verify_tokens(drafts(s));
  }
  /// The drafting of `batch` (its prompt chunks and decodes) on the replica's `gpus`.
  Duration draft_time(const ReplicaState& state, const Batch& batch, const std::vector<int>& gpus,
                      Communication& comm) const;
  /// Accepted drafts of `s`'s step that has just been verified (drawn; tallied).
  std::int64_t accept(const Sequence& s);
  /// summary.json's "speculative": the drafter, steps, mean tokens per step, the mean
  /// acceptance length over steps that proposed all k drafts, and the draft acceptance rate.
  Json summary() const;

 private:
  std::unique_ptr<Drafter> drafter_;
  std::uint64_t seed_;
  std::uint64_t steps_ = 0, tokens_ = 0;          // every sequence-step and its tokens emitted
  std::uint64_t full_steps_ = 0, full_tokens_ = 0;  // steps that proposed all k drafts
  std::uint64_t proposed_ = 0, accepted_ = 0;      // draft tokens
  double full_tokens_squared_ = 0;                 // for the standard error of the mean
};

}  // namespace kvsim::serving::speculative
