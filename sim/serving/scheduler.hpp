#pragma once
// Batching schedulers (registry family "scheduler"): each iteration, which sequences a replica
// runs and how many new tokens each brings.
//
//   static           request-level batches run to completion (FasterTransformer-style): a batch
//                    is formed only when the previous one has finished entirely;
//   continuous       iteration-level scheduling (Orca): every running sequence decodes, waiting
//                    prompts join whole within the token budget;
//   vllm             prefill first: an iteration admits waiting prompts if it can, and decodes
//                    only when none is admitted;
//   chunked_prefill  Sarathi-Serve: decodes first, then prompts in chunks that fill the
//                    iteration's token budget.
//
// When paged memory runs out, the newest running sequence is preempted: by recompute (its KV is
// dropped and its prompt plus generated tokens computed again) or by swap (its KV copied to host
// memory over PCIe and back when it resumes; recompute when the swap space is full).

#include <cstdint>
#include <memory>
#include <vector>

#include "sim/core/registry.hpp"
#include "sim/serving/memory.hpp"
#include "sim/serving/ring_queue.hpp"
#include "sim/serving/sequence.hpp"

namespace kvsim::serving {
namespace speculative {
class Speculation;
}

/// Sequences live in slots that stay put while they run, so batches in flight can name them.
class SequencePool {
 public:
  using Slot = std::uint32_t;
  Slot add(Sequence s);
  void remove(Slot slot) { free_.push_back(slot); }
  Sequence& operator[](Slot slot) { return slots_[slot]; }
  const Sequence& operator[](Slot slot) const { return slots_[slot]; }

 private:
  std::vector<Sequence> slots_;
  std::vector<Slot> free_;
};
using Slot = SequencePool::Slot;

/// One iteration's work.
struct Batch {
  struct Prefill {
    Slot seq;
    std::int64_t tokens;  // new prompt tokens this iteration (a chunk, or the whole prompt)
  };
  std::vector<Prefill> prefills;
  std::vector<Slot> decodes;
  std::int64_t swap_out_tokens = 0;  // KV tokens copied to host memory before the iteration
  std::int64_t swap_in_tokens = 0;   // and back

  bool empty() const { return prefills.empty() && decodes.empty(); }
  /// Empties the batch, keeping its vectors' storage for the next iteration.
  void clear() {
    prefills.clear();
    decodes.clear();
    swap_out_tokens = swap_in_tokens = 0;
  }
  std::int64_t size() const {
    return static_cast<std::int64_t>(prefills.size() + decodes.size());
  }
};

struct SchedulerLimits {
  std::int64_t max_batch_size = 256;       // sequences resident (vLLM's max_num_seqs)
  std::int64_t max_batched_tokens = 4096;  // new tokens per iteration
};

enum class Preemption { kRecompute, kSwap };

/// Most host memory per GPU for swapped KV (bytes), so its count of tokens fits 64 bits.
inline constexpr double kMaxSwapBytes = 1125899906842624.0;  // 2^50: 1 PiB

/// A replica's queues and memory, as a scheduler sees and changes them.
class ReplicaState {
 public:
  ReplicaState(KvMemory& kv_memory, std::int64_t swap_capacity_tokens)
      : memory(kv_memory), swap_capacity_(swap_capacity_tokens) {}

  SequencePool pool;
  RingQueue<Slot> waiting;    // arrival order; preempted sequences return to the front
  std::vector<Slot> running;  // admission order
  KvMemory& memory;
  const speculative::Speculation* speculation = nullptr;  // speculative decoding, if any
  std::uint64_t preemptions = 0;
  std::uint64_t swaps = 0;

  // The steps the schedulers are built from.

  /// Admits waiting sequences in order while the batch size, `budget` and memory allow, adding
  /// their prompts (or, for swapped-out sequences, their swap-in and a decode) to `batch`.
  /// `chunked`: a prompt may be split to fit the budget; otherwise it joins whole, and one
  /// larger than the budget only into an otherwise empty batch.
  void admit_waiting(Batch& batch, std::int64_t& budget, const SchedulerLimits& limits,
                     bool chunked);
  /// A decode for every running sequence past its prompt, growing its memory and preempting the
  /// newest sequences when memory runs out.
  void decode_running(Batch& batch, std::int64_t& budget, Preemption preemption);
  /// The next chunk of every prompt already started, within the budget.
  void continue_prompts(Batch& batch, std::int64_t& budget);
  std::int64_t swap_used() const { return swap_used_; }
  /// KV token equivalents the running sequences' cached tokens fill (KvMemory::used summed
  /// over `running`), kept as sequences start and stop running and cache tokens: exact
  /// (integers). The replica's memory integrals read it at every launch and completion, where
  /// walking the running sequences cost a tenth of an iteration.
  std::int64_t used_tokens() const { return used_; }
  /// The same by walking the running sequences (the replica's timeline checks the two agree).
  std::int64_t used_tokens_walked() const;
  /// `s`, running, has `tokens` more K and V cached.
  void add_cached(Sequence& s, std::int64_t tokens) {
    if (memory.windowless()) {  // the common case: used(t) == t
      s.cached += tokens;
      used_ += tokens;
      return;
    }
    used_ -= memory.used(s.cached);
    s.cached += tokens;
    used_ += memory.used(s.cached);
  }
  /// With windowless memory (used(t) == t), running sequences whose `cached` the caller raised
  /// by `tokens` in all: add_cached's count for them at once.
  void count_cached(std::int64_t tokens) { used_ += tokens; }
  /// `s` leaves the running list (the caller removes it).
  void stop_running(const Sequence& s) { used_ -= memory.used(s.cached); }
  /// New tokens a decode of `s` brings (budget and KV): 1, or its verified draft tokens.
  std::int64_t decode_tokens(const Sequence& s) const {
    return speculation ? verify_tokens(s) : 1;
  }

 private:
  std::int64_t verify_tokens(const Sequence& s) const;
  bool preempt_newest_after(std::size_t position, Batch& batch, Preemption preemption);
  bool grow_preempting(std::size_t i, std::int64_t tokens, Batch& batch, Preemption preemption);

  std::int64_t swap_capacity_;
  std::int64_t swap_used_ = 0;
  std::int64_t used_ = 0;  // used_tokens()
};

class Scheduler {
 public:
  Scheduler(SchedulerLimits limits, Preemption preemption, double swap_space_bytes)
      : limits_(limits), preemption_(preemption), swap_space_(swap_space_bytes) {}
  virtual ~Scheduler() = default;
  /// The next iteration's batch into `batch`, which comes empty (and stays empty when nothing
  /// can run now); it is the caller's, so its storage is reused from one iteration to the next.
  /// May admit, grow memory and preempt.
  virtual void plan(ReplicaState& state, Batch& batch) const = 0;
  /// Static batching: a batch's requests leave together when its last one finishes.
  virtual bool completes_together() const { return false; }
  /// The memory manager a scheduler runs over when the scenario names none.
  virtual const char* default_memory() const { return "paged"; }
  virtual const char* name() const = 0;

  const SchedulerLimits& limits() const { return limits_; }
  Preemption preemption() const { return preemption_; }
  double swap_space_bytes() const { return swap_space_; }  // host memory per GPU for swaps
  Json to_json() const;

 protected:
  SchedulerLimits limits_;
  Preemption preemption_;
  double swap_space_;
};

using SchedulerRegistry = Registry<std::unique_ptr<Scheduler>>;
const SchedulerRegistry& schedulers();

}  // namespace kvsim::serving
