#include "sim/serving/scheduler.hpp"

#include <limits>

#include <fmt/format.h>

#include "sim/serving/speculative/speculation.hpp"

namespace kvsim::serving {

Slot SequencePool::add(Sequence s) {
  if (free_.empty()) {
    slots_.push_back(std::move(s));
    return static_cast<Slot>(slots_.size() - 1);
  }
  const Slot slot = free_.back();
  free_.pop_back();
  slots_[slot] = std::move(s);
  return slot;
}

void ReplicaState::admit_waiting(Batch& batch, std::int64_t& budget,
                                 const SchedulerLimits& limits, bool chunked) {
  while (!waiting.empty() && static_cast<std::int64_t>(running.size()) < limits.max_batch_size &&
         budget > 0) {
    const Slot slot = waiting.front();
    Sequence& s = pool[slot];
    if (s.swapped > 0) {
      // A swapped-out sequence resumes: its K and V come back and it decodes.
      if (!memory.admit(s, s.swapped + decode_tokens(s))) break;
      batch.swap_in_tokens += s.swapped;
      swap_used_ -= s.swapped;
      s.cached = s.swapped;
      s.swapped = 0;
      batch.decodes.push_back(slot);
      budget -= decode_tokens(s);
    } else {
      const std::int64_t remaining = s.to_prefill - s.prefilled;
      const std::int64_t chunk = chunked ? std::min(remaining, budget) : remaining;
      if (!chunked && chunk > budget && !batch.prefills.empty()) break;
      if (!memory.admit(s, s.cached + chunk)) break;
      batch.prefills.push_back({slot, chunk});
      budget -= chunk;
    }
    s.in_flight = true;
    running.push_back(slot);
    used_ += memory.used(s.cached);
    waiting.pop_front();
  }
}

// Serving's hottest loop (once per running sequence per iteration). Each running sequence adds
// at most one decode, and preempting only shortens `running` (and never touches the decode
// list), so the list is sized once for all of them and written in place; a decode of one token
// (no speculation) reads no draft state, and memory that must preempt is handled out of line.
void ReplicaState::decode_running(Batch& batch, std::int64_t& budget, Preemption preemption) {
  const std::size_t first = batch.decodes.size();
  batch.decodes.resize(first + running.size());
  Slot* const start = batch.decodes.data() + first;
  Slot* out = start;
  std::int64_t spent = 0;
  for (std::size_t i = 0; i < running.size(); ++i) {
    const Slot slot = running[i];
    Sequence& s = pool[slot];
    if (s.in_flight || !s.prompt_done() || s.finished()) continue;
    const std::int64_t tokens = decode_tokens(s);
    if (!memory.grow(s, s.cached + tokens) && !grow_preempting(i, tokens, batch, preemption)) {
      continue;
    }
    s.in_flight = true;
    *out++ = slot;
    spent += tokens;
  }
  batch.decodes.resize(first + static_cast<std::size_t>(out - start));
  budget -= spent;
}

// running[i] could not grow by `tokens`: the newest sequences after it are preempted until it
// can; false when it still cannot.
bool ReplicaState::grow_preempting(std::size_t i, std::int64_t tokens, Batch& batch,
                                   Preemption preemption) {
  Sequence& s = pool[running[i]];
  while (preempt_newest_after(i, batch, preemption)) {
    if (memory.grow(s, s.cached + tokens)) return true;
  }
  return false;
}

void ReplicaState::continue_prompts(Batch& batch, std::int64_t& budget) {
  for (std::size_t i = 0; i < running.size() && budget > 0; ++i) {
    Sequence& s = pool[running[i]];
    if (s.in_flight || s.prompt_done()) continue;
    const std::int64_t chunk = std::min(s.to_prefill - s.prefilled, budget);
    if (!memory.grow(s, s.cached + chunk)) break;
    s.in_flight = true;
    batch.prefills.push_back({running[i], chunk});
    budget -= chunk;
  }
}

std::int64_t ReplicaState::used_tokens_walked() const {
  std::int64_t t = 0;
  for (const Slot slot : running) t += memory.used(pool[slot].cached);
  return t;
}

std::int64_t ReplicaState::verify_tokens(const Sequence& s) const {
  return speculation->verify_tokens(s);
}

// Evicts the newest running sequence after `position` that is in no batch, back to the front of
// the queue. False when there is none.
bool ReplicaState::preempt_newest_after(std::size_t position, Batch& batch,
                                        Preemption preemption) {
  for (std::size_t v = running.size(); v-- > position + 1;) {
    const Slot slot = running[v];
    Sequence& s = pool[slot];
    if (s.in_flight) continue;
    running.erase(running.begin() + static_cast<std::ptrdiff_t>(v));
    stop_running(s);
    memory.release(s);
    ++preemptions;
    ++s.preemptions;
    if (preemption == Preemption::kSwap && s.prompt_done() &&
        swap_used_ + s.cached <= swap_capacity_) {
      s.swapped = s.cached;
      swap_used_ += s.cached;
      batch.swap_out_tokens += s.cached;
      ++swaps;
    } else {
      s.to_prefill = s.request.prompt + s.generated;
      s.prefilled = 0;
    }
    s.cached = 0;
    waiting.push_front(slot);
    return true;
  }
  return false;
}

Json Scheduler::to_json() const {
  return {{"type", name()},
          {"max_batch_size", limits_.max_batch_size},
          {"max_batched_tokens", limits_.max_batched_tokens},
          {"preemption", preemption_ == Preemption::kSwap ? "swap" : "recompute"},
          {"swap_space_bytes", swap_space_}};
}

namespace {

class Static final : public Scheduler {
 public:
  using Scheduler::Scheduler;
  void plan(ReplicaState& state, Batch& batch) const override {
    if (state.running.empty()) {
      std::int64_t budget = std::numeric_limits<std::int64_t>::max();
      state.admit_waiting(batch, budget, limits_, false);
    } else {
      std::int64_t budget = limits_.max_batched_tokens;
      state.decode_running(batch, budget, preemption_);
    }
  }
  bool completes_together() const override { return true; }
  const char* default_memory() const override { return "contiguous"; }
  const char* name() const override { return "static"; }
};

class Continuous final : public Scheduler {
 public:
  using Scheduler::Scheduler;
  void plan(ReplicaState& state, Batch& batch) const override {
    std::int64_t budget = limits_.max_batched_tokens;
    state.decode_running(batch, budget, preemption_);
    state.admit_waiting(batch, budget, limits_, false);
  }
  const char* default_memory() const override { return "contiguous"; }
  const char* name() const override { return "continuous"; }
};

class Vllm final : public Scheduler {
 public:
  using Scheduler::Scheduler;
  void plan(ReplicaState& state, Batch& batch) const override {
    std::int64_t budget = limits_.max_batched_tokens;
    state.admit_waiting(batch, budget, limits_, false);
    if (!batch.prefills.empty()) return;  // prefill first
    state.decode_running(batch, budget, preemption_);
  }
  const char* name() const override { return "vllm"; }
};

class ChunkedPrefill final : public Scheduler {
 public:
  using Scheduler::Scheduler;
  void plan(ReplicaState& state, Batch& batch) const override {
    std::int64_t budget = limits_.max_batched_tokens;
    state.decode_running(batch, budget, preemption_);
    state.continue_prompts(batch, budget);
    state.admit_waiting(batch, budget, limits_, true);
  }
  const char* name() const override { return "chunked_prefill"; }
};

template <class S>
SchedulerRegistry::Factory make() {
  return [](const ConfigNode& n) -> std::unique_ptr<Scheduler> {
    SchedulerLimits limits;
    limits.max_batch_size = n.count_or("max_batch_size", limits.max_batch_size);
    limits.max_batched_tokens = n.count_or("max_batched_tokens", limits.max_batched_tokens);
    const Preemption preemption = n.one_of_or("preemption", "recompute", {"recompute", "swap"}) ==
                                          "swap"
                                      ? Preemption::kSwap
                                      : Preemption::kRecompute;
    const double swap_space = n.find("swap_space") ? n.at("swap_space").as_bytes() : 4.0 * (1 << 30);
    // Swap space becomes a count of tokens: bounded so that the count fits 64 bits.
    if (swap_space > kMaxSwapBytes) {
      n.at("swap_space").fail(fmt::format("at most {:g} bytes (1 PiB, kMaxSwapBytes in "
                                          "sim/serving/scheduler.hpp)",
                                          kMaxSwapBytes));
    }
    return std::make_unique<S>(limits, preemption, swap_space);
  };
}

}  // namespace

const SchedulerRegistry& schedulers() {
  static const SchedulerRegistry registry = [] {
    SchedulerRegistry r("scheduler", "which sequences a replica runs each iteration");
    const std::vector<ParamDoc> common{
        {"max_batch_size", "count", "256", "most sequences resident at once (max_num_seqs)"},
        {"max_batched_tokens", "count", "4096", "most new tokens in one iteration"},
        {"preemption", "string", "recompute",
         "when memory runs out: recompute (drop the KV, recompute later) or swap (copy it to "
         "host memory over PCIe)"},
        {"swap_space", "bytes", "4GiB", "host memory per GPU for swapped KV"}};
    r.add("static", "request-level batches run to completion (FasterTransformer-style)", common,
          make<Static>());
    r.add("continuous", "iteration-level scheduling (Orca): decodes, then whole prompts",
          common, make<Continuous>());
    r.add("vllm", "continuous batching, prefill first, decodes when no prompt is admitted",
          common, make<Vllm>());
    r.add("chunked_prefill",
          "Sarathi-Serve: decodes first, then prompt chunks filling the token budget", common,
          make<ChunkedPrefill>());
    return r;
  }();
  return registry;
}

}  // namespace kvsim::serving
