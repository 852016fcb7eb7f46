// What a batch produces when it leaves a replica's last stage: tokens, finished requests and
// their latencies, and the KV memory integrals (see replica.hpp).
#include <algorithm>
#include <optional>

#include "sim/serving/replica.hpp"
#include "sim/serving/speculative/speculation.hpp"

namespace kvsim::serving {

// KV memory integrals up to now (the state changes only at launches and completions). A second
// call in the same instant (a launch right after a completion) adds nothing: x + n * 0.0 == x for
// the finite, non-negative areas, so skipping it (and its walk over the running sequences) is
// exact.
void Replica::account() {
  if (c_.queue.now() == accounted_) return;
  const double dt = to_seconds(c_.queue.now() - accounted_);
  c_.totals.kv_used_area += static_cast<double>(used_tokens()) * dt;
  c_.totals.kv_held_area += static_cast<double>(held()) * dt;
  accounted_ = c_.queue.now();
}

// The batch has left the last stage: its tokens exist, and those of the data-parallel
// attention ranks' batches that ran with it.
void Replica::finish(std::uint32_t id) {
  account();
  finish_one(id);
  const std::vector<std::uint32_t>& riders = flights_[id].riders;  // untouched until relaunch
  for (const std::uint32_t r : riders) finish_one(r);
}

void Replica::finish_one(std::uint32_t id) {
  const SimTime now = c_.queue.now();
  InFlight& f = flights_[id];
  Engine& e = *engines_[f.engine];
  e.in_flight = false;
  const std::size_t finished = deliver_tokens(f, e.state, now);
  free_flights_.push_back(id);
  if (finished > 0 || c_.setup.scheduler->completes_together()) retire_finished(e, now);
}

// Each sequence of the batch takes its new tokens; a prompt's last position, and each decode,
// samples the next output token. Returns how many of the batch's sequences have finished.
// The tokens are counted for the per-second peak once per batch (they share `now`: adding n
// at once reaches the same counts as n increments).
std::size_t Replica::deliver_tokens(const InFlight& f, ReplicaState& st, SimTime now) {
  std::size_t finished = 0;
  std::int64_t tokens = 0;
  for (const auto& [slot, chunk] : f.batch.prefills) {
    Sequence& s = st.pool[slot];
    s.in_flight = false;
    s.prefilled += chunk;
    st.add_cached(s, chunk);
    if (s.prompt_done()) {
      if (s.first_token.count() < 0) s.first_token = now;
      emit(s, now);  // the prompt's last position samples the next token
      ++tokens;
      if (s.finished()) ++finished;
    }
  }
  if (!c_.setup.speculation && !c_.observers.token) {
    // The common case, per sequence per iteration: emit() without the token observer. Most of
    // a batch's sequences last emitted together (in the previous batch), so their equal gaps
    // go to the histogram as runs, in order (bit for bit as one add each).
    SimTime run_from{-1};
    std::uint64_t run = 0;
    const bool windowless = st.memory.windowless();
    for (const Slot slot : f.batch.decodes) {
      Sequence& s = st.pool[slot];
      s.in_flight = false;
      if (windowless) {
        ++s.cached;  // counted below, for the batch
      } else {
        st.add_cached(s, 1);
      }
      if (s.last_token != run_from) {
        if (run > 0) c_.totals.itl.add_repeated(to_seconds(now - run_from), run);
        run_from = s.last_token;
        run = 0;
      }
      run += s.last_token.count() >= 0 ? 1 : 0;
      s.last_token = now;
      ++s.generated;
      if (s.finished()) ++finished;
    }
    if (run > 0) c_.totals.itl.add_repeated(to_seconds(now - run_from), run);
    if (windowless) st.count_cached(static_cast<std::int64_t>(f.batch.decodes.size()));
    tokens += static_cast<std::int64_t>(f.batch.decodes.size());
  } else {
    for (const Slot slot : f.batch.decodes) {
      Sequence& s = st.pool[slot];
      s.in_flight = false;
      // Speculative decoding keeps the accepted drafts (the rest's KV is rolled back) and the
      // token the target sampled after them.
      const std::int64_t accepted =
          c_.setup.speculation ? c_.setup.speculation->accept(s) : 0;
      st.add_cached(s, 1 + accepted);  // the token it consumed, and the accepted drafts
      emit(s, now);
      for (std::int64_t i = 0; i < accepted; ++i) emit(s, now, false);
      tokens += 1 + accepted;
      if (s.finished()) ++finished;
    }
  }
  c_.totals.count_tokens(now.count(), tokens);  // vllm_bench's max_output_tokens_per_s
  return finished;
}

// Finished sequences leave the running list, keeping the others in order. A scheduler that
// completes together (static batching) releases its batch only when every sequence is done.
// finish() skips this when none of the batch finished: a running sequence finishes only when
// its batch delivers (and leaves here then), so there is nothing to retire.
void Replica::retire_finished(Engine& e, SimTime now) {
  ReplicaState& st = e.state;
  if (c_.setup.scheduler->completes_together()) {
    const bool all_done = std::all_of(st.running.begin(), st.running.end(),
                                      [&st](Slot s) { return st.pool[s].finished(); });
    if (all_done) {
      for (const Slot slot : st.running) complete(e, slot, now);
      st.running.clear();
    }
    return;
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < st.running.size(); ++i) {
    const Slot slot = st.running[i];
    const Sequence& s = st.pool[slot];
    if (!s.in_flight && s.finished()) {
      complete(e, slot, now);
      continue;
    }
    st.running[out++] = slot;
  }
  st.running.resize(out);
}

// One output token of `s` at `now` (the caller counts it for the per-second peak). `new_gap`
// false: another token of the same step, which streams with the first (one gap per step, as
// `vllm bench serve` counts one per streamed chunk).
void Replica::emit(Sequence& s, SimTime now, bool new_gap) {
  if (new_gap && s.last_token.count() >= 0) c_.totals.itl.add(to_seconds(now - s.last_token));
  s.last_token = now;
  if (c_.observers.token) {
    c_.observers.token(s.request.id, s.generated, to_seconds(now - SimTime{0}));
  }
  ++s.generated;
}

void Replica::complete(Engine& e, Slot slot, SimTime now) {
  Sequence& s = e.state.pool[slot];
  e.state.stop_running(s);
  e.memory->release(s);
  record_latencies(s, now);
  e.state.pool.remove(slot);
  --outstanding_;
  c_.finished();
  const Totals& t = c_.totals;
  if (t.completed + t.rejected == c_.total_requests) c_.queue.stop();  // background never ends
}

// A finished request's latencies (seconds), tokens and SLO verdict, into the totals and the
// per-request observer.
void Replica::record_latencies(const Sequence& s, SimTime now) {
  Totals& t = c_.totals;
  const double arrival = to_seconds(s.request.arrival - SimTime{0});
  const double first = to_seconds(s.first_token - SimTime{0});
  const double end = to_seconds(now - SimTime{0});
  const double ttft = first - arrival;
  t.ttft.add(ttft);
  t.e2e.add(end - arrival);
  t.queueing.add(to_seconds(s.scheduled - SimTime{0}) - arrival);
  std::optional<double> tpot;  // none for a single output token: it has no gaps
  if (s.request.output > 1) {
    tpot = (end - first) / static_cast<double>(s.request.output - 1);
    t.tpot.add(*tpot);
  }
  ++t.completed;
  t.request_completed(now.count());
  t.input_tokens += static_cast<std::uint64_t>(s.request.prompt);
  t.output_tokens += static_cast<std::uint64_t>(s.request.output);
  const ServingSetup& c = c_.setup;
  const bool tpot_ok = !c.tpot_slo || !tpot || *tpot <= *c.tpot_slo;
  if ((!c.ttft_slo || ttft <= *c.ttft_slo) && tpot_ok) ++t.good;
  if (c_.observers.request) {
    c_.observers.request({s.request.id, index_, arrival, to_seconds(s.scheduled - SimTime{0}),
                          first, end, s.request.prompt, s.request.output, s.preemptions});
  }
}

}  // namespace kvsim::serving
