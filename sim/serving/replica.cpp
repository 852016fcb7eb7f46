// A replica's arrivals, its counters, and the planning and launch of batches (see replica.hpp).
#include "sim/serving/replica.hpp"

#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/serving/speculative/pass_cost.hpp"
#include "sim/serving/speculative/speculation.hpp"

namespace kvsim::serving {

Replica::Replica(ReplicaContext& c, int index, std::vector<std::unique_ptr<KvMemory>> memories)
    : c_(c), index_(index) {
  const auto swap_tokens = static_cast<std::int64_t>(
      c.setup.scheduler->swap_space_bytes() / c.setup.budget.kv_bytes_per_token /
      static_cast<double>(memories.size()));
  for (auto& memory : memories) {
    engines_.push_back(std::make_unique<Engine>(std::move(memory), swap_tokens));
    engines_.back()->state.speculation = c.setup.speculation.get();
  }
  capacity_ = total([](const Engine& e) { return e.memory->capacity(); });
  const int pp = c.setup.pipeline_parallel;
  for (int s = 0; s < pp; ++s) {
    Stage& stage = stages_.emplace_back();
    stage.gpus = c.setup.stage_gpus(index, s);
    stage.layers = stage_layers(c.scenario.model.layers, pp, s);
  }
}

void Replica::arrive(const Request& r) {
  Sequence s;
  s.request = r;
  s.to_prefill = r.prompt;
  // To the virtual engine with the fewest unfinished requests, as vLLM does.
  Engine* target = engines_.front().get();
  for (const auto& e : engines_) {
    if (e->outstanding() < target->outstanding()) target = e.get();
  }
  target->state.waiting.push_back(target->state.pool.add(s));
  ++outstanding_;
  decide();
}

// The timeline also checks the running counts (used tokens, requests outstanding) against
// walks (rows are seconds apart, so the walks cost nothing that matters).
TimelineSample Replica::sample(double time) const {
  if (outstanding_ != total(&Engine::outstanding)) {
    throw std::logic_error(fmt::format("replica {}: {} requests outstanding by the count, {} in "
                                       "the queues",
                                       index_, outstanding_, total(&Engine::outstanding)));
  }
  for (const auto& e : engines_) {
    if (e->state.used_tokens() != e->state.used_tokens_walked()) {
      throw std::logic_error(fmt::format("replica {}: {} KV tokens used by the running sum, {} "
                                         "by the walk",
                                         index_, e->state.used_tokens(),
                                         e->state.used_tokens_walked()));
    }
  }
  return {time,
          index_,
          total([](const Engine& e) { return e.state.waiting.size(); }),
          total([](const Engine& e) { return e.state.running.size(); }),
          used_tokens(),
          held(),
          capacity()};
}

std::uint64_t Replica::preemptions() const {
  return total([](const Engine& e) { return e.state.preemptions; });
}

std::uint64_t Replica::swaps() const {
  return total([](const Engine& e) { return e.state.swaps; });
}

std::int64_t Replica::used_tokens() const {
  return total([](const Engine& e) { return e.state.used_tokens(); });
}

// Schedulers decide once at the end of the instant, after every completion and arrival at
// this time: a burst of simultaneous arrivals is seen whole before a batch forms. (The end of
// the instant rather than a decision-phase event: no extra event per batch.)
void Replica::decide() {
  if (decision_pending_) return;
  decision_pending_ = true;
  c_.queue.at_end_of_instant([this] {
    decision_pending_ = false;
    try_launch();
  });
}

// Whenever the first stage is free, the next virtual engine in turn with no batch in flight
// plans one and starts it.
void Replica::try_launch() {
  if (stages_[0].busy) return;
  account();
  if (c_.data_parallel) {
    launch_ranks();
    return;
  }
  for (std::size_t k = 0; k < engines_.size(); ++k) {
    const std::size_t i = (next_engine_ + k) % engines_.size();
    Engine& e = *engines_[i];
    if (e.in_flight) continue;
    planned_.clear();
    c_.setup.scheduler->plan(e.state, planned_);
    if (planned_.empty()) {
      // Nothing of this engine runs, so nothing will free its memory.
      if (e.outstanding() > 0) stuck(e);
      continue;
    }
    next_engine_ = (i + 1) % engines_.size();
    launch(i);
    return;
  }
}

// The planned batch (planned_) becomes a batch in flight, queued at the first stage. The two
// swap storage, so neither's vectors are ever reallocated once they have reached their size.
void Replica::launch(std::size_t engine) {
  Engine& e = *engines_[engine];
  const Batch& batch = planned_;
  check_limits(e);
  shape_batch(e, batch);
  const std::uint32_t id = allocate();
  InFlight& f = flights_[id];
  if (verifies_.empty()) {
    f.compute = c_.cost(shape_);
  } else {  // speculative decoding's verify chunks: one batched attention kernel
    f.compute = speculative::price_pass(c_.scenario, c_.scenario.model, c_.setup.tensor_parallel,
                                        shape_, 0, verifies_, c_.setup.expert_degree());
  }
  f.tokens = speculative::pass_rows(shape_, verifies_);
  f.before = c_.setup.host_overhead + swap_time(batch);
  if (c_.setup.speculation) {  // the drafter's passes precede the target's verify pass
    f.before += c_.setup.speculation->draft_time(e.state, batch, stages_[0].gpus,
                                                 c_.communication);
  }
  std::swap(f.batch, planned_);
  f.engine = engine;
  e.in_flight = true;
  stages_[0].queue.push_back(id);
  start_stage(0);
}

// A scheduler that plans past its memory or batch-size limit is a bug, not bad input.
void Replica::check_limits(const Engine& e) const {
  const auto max_batch = c_.setup.scheduler->limits().max_batch_size;
  if (e.memory->held() > e.memory->capacity() ||
      static_cast<std::int64_t>(e.state.running.size()) > max_batch) {
    throw std::logic_error(fmt::format(
        "scheduler {} broke a limit: {} of {} KV tokens held, {} of {} sequences running",
        c_.setup.scheduler->name(), e.memory->held(), e.memory->capacity(),
        e.state.running.size(), max_batch));
  }
}

// The batch's operations for the cost model, into shape_. No sequence twice in a batch, nor in
// two batches at once: the scheduler marks what it takes as in flight, this marks it batched,
// and the delivery of its tokens clears both.
void Replica::shape_batch(Engine& e, const Batch& batch) {
  ++batches_;
  const auto take = [&](Slot slot) -> Sequence& {
    Sequence& s = e.state.pool[slot];
    if (!s.in_flight || s.last_batch == batches_) [[unlikely]] taken_twice(s);
    s.last_batch = batches_;
    return s;
  };
  shape_.clear();
  verifies_.clear();
  for (const auto& [slot, tokens] : batch.prefills) {
    Sequence& s = take(slot);
    if (s.scheduled.count() < 0) s.scheduled = c_.queue.now();
    shape_.prefills.emplace_back(tokens, s.cached + tokens);
    if (s.prefilled + tokens == s.to_prefill) ++shape_.emitting;
  }
  if (!e.state.speculation) {
    // The common case, per sequence per iteration: one token each, written in place.
    shape_.decodes.resize(batch.decodes.size());
    std::int64_t* kv = shape_.decodes.data();
    for (const Slot slot : batch.decodes) *kv++ = take(slot).cached + 1;
    shape_.emitting += static_cast<std::int64_t>(batch.decodes.size());
    return;
  }
  for (const Slot slot : batch.decodes) {
    Sequence& s = take(slot);
    // Speculative decoding verifies its drafts as a chunk of queries against the context,
    // sampling at each position.
    const std::int64_t tokens = e.state.decode_tokens(s);
    if (tokens == 1) {
      shape_.decodes.push_back(s.cached + 1);
    } else {
      verifies_.emplace_back(tokens, s.cached + tokens);
    }
    shape_.emitting += tokens;
  }
}

void Replica::taken_twice(const Sequence& s) const {
  throw std::logic_error(fmt::format("scheduler {} put request {} in a batch twice",
                                     c_.setup.scheduler->name(), s.request.id));
}

// Bad input, not a bug: the workload asks for more KV memory than a replica has. The culprit
// is the oldest running sequence (it preempted every other and still cannot grow), or, with
// none running, the first waiting one (it does not fit an empty memory).
void Replica::stuck(const Engine& e) const {
  const ReplicaState& st = e.state;
  const Sequence& s = st.pool[st.running.empty() ? st.waiting.front() : st.running.front()];
  throw InputError(
      c_.workload.file(), c_.workload.lengths_pointer(),
      fmt::format("{} ({} prompt + {} output tokens) needs up to {} tokens of {} KV memory "
                  "and can never fit the {} tokens of a replica{}; raise the memory "
                  "utilization, use more GPUs per replica, or cap the lengths",
                  c_.workload.describe(s.request), s.request.prompt, s.request.output,
                  e.memory->peak_tokens(s.request), e.memory->to_json()["type"].get<std::string>(),
                  e.memory->capacity(),
                  c_.data_parallel        ? "'s data-parallel attention rank"
                  : engines_.size() > 1 ? "'s pipeline virtual engine"
                                        : ""));
}

// The swap copies of a batch over PCIe (preemption by swapping).
Duration Replica::swap_time(const Batch& batch) const {
  const double swap_bytes = static_cast<double>(batch.swap_out_tokens + batch.swap_in_tokens) *
                            c_.setup.budget.kv_bytes_per_token;
  return swap_bytes > 0 ? from_seconds_ceil(swap_bytes / c_.scenario.gpu.pcie_bandwidth)
                        : Duration{0};
}

// A free batch-in-flight record, reused so that a long run does not grow flights_.
std::uint32_t Replica::allocate() {
  if (free_flights_.empty()) {
    flights_.emplace_back();
    return static_cast<std::uint32_t>(flights_.size() - 1);
  }
  const std::uint32_t id = free_flights_.back();
  free_flights_.pop_back();
  return id;
}

}  // namespace kvsim::serving
