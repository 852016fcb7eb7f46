// A disaggregated run's prefill instances: batches of waiting prompts (one prompt by default),
// their prefill, and the back-pressure of a full decode pool on them (see pools.hpp and
// disaggregated_run.hpp).
#include "sim/serving/disaggregation/run_state.hpp"

namespace kvsim::serving::disaggregation {

// The instance's next batch, unless it is computing or held for decode memory. Layer by layer,
// its transfers (and so their decode reservations) start with the prefill.
void DisaggregatedRun::try_prefill(int instance) {
  PrefillInstance& p = prefill_[static_cast<std::size_t>(instance)];
  if (p.computing || !p.batch.empty()) return;
  if (p.queue.empty()) {
    return_to_mixed_pool_from_prefill(static_cast<std::size_t>(instance));
    return;
  }
  const std::int64_t tokens = take_batch(instance);
  const Duration time = pricing_.price(instance, tokens).ttft;
  for (const std::uint32_t id : p.batch) {
    flights_[id].prefill_time = time;
    flights_[id].batch_tokens = tokens;
  }
  if (d_.transfer == TransferMode::kLayerwise) {
    p.held.assign(p.batch.begin(), p.batch.end());
    if (!start_held_transfers(p)) {
      hold(instance);
      return;
    }
  }
  start_prefill(instance);
}

// Moves the waiting prompts of the next batch into flights: the oldest always, then more in
// order while the batch stays within max_batch_size prompts and max_batched_tokens tokens.
// Returns the batch's prompt tokens.
std::int64_t DisaggregatedRun::take_batch(int instance) {
  PrefillInstance& p = prefill_[static_cast<std::size_t>(instance)];
  std::int64_t tokens = 0;
  while (!p.queue.empty()) {
    const Request& r = p.queue.front();
    const auto size = static_cast<std::int64_t>(p.batch.size());
    if (size > 0 && (size == d_.prefill.max_batch_size ||
                     tokens + r.prompt > d_.prefill.max_batched_tokens)) {
      break;
    }
    tokens += r.prompt;
    p.batch.push_back(new_flight(r, instance));
    p.queue.pop_front();
  }
  return tokens;
}

void DisaggregatedRun::start_prefill(int instance) {
  PrefillInstance& p = prefill_[static_cast<std::size_t>(instance)];
  for (const std::uint32_t id : p.batch) {
    Flight& f = flights_[id];
    f.scheduled = queue_.now();
    totals_.queueing.add(to_seconds(f.scheduled - f.request.arrival));
  }
  const Duration time = flights_[p.batch.front()].prefill_time;
  p.computing = true;
  p.busy += time;
  queue_.schedule_in(time, Phase::kCompletion, [this, instance] { prefill_done(instance); });
}

// The batch is done: whole-cache transfers start now where a decode instance has room (else
// the instance holds the rest and waits); the instance takes its next batch once all have left.
void DisaggregatedRun::prefill_done(int instance) {
  PrefillInstance& p = prefill_[static_cast<std::size_t>(instance)];
  p.computing = false;
  for (const std::uint32_t id : p.batch) p.queued_tokens -= flights_[id].request.prompt;
  if (d_.transfer == TransferMode::kWhole) {
    p.held.assign(p.batch.begin(), p.batch.end());
    if (!start_held_transfers(p)) {
      hold(instance);
      return;
    }
  }
  p.batch.clear();
  try_prefill(instance);
}

// The held flights' transfers, in order, until one finds no decode room (false).
bool DisaggregatedRun::start_held_transfers(PrefillInstance& p) {
  while (!p.held.empty()) {
    if (!start_transfer(p.held.front())) return false;
    p.held.pop_front();
  }
  return true;
}

void DisaggregatedRun::hold(int instance) {
  waiting_.push_back(instance);
  wait_started_[static_cast<std::size_t>(instance)] = queue_.now();
  ++waits_;
}

// Decode memory was freed: the held instances, oldest first, try again; the first that still
// finds no room keeps the rest waiting (no overtaking).
void DisaggregatedRun::retry_waiting() {
  while (!waiting_.empty()) {
    const int instance = waiting_.front();
    PrefillInstance& p = prefill_[static_cast<std::size_t>(instance)];
    if (!start_held_transfers(p)) return;
    waiting_.pop_front();
    wait_seconds_ += to_seconds(queue_.now() - wait_started_[static_cast<std::size_t>(instance)]);
    if (d_.transfer == TransferMode::kLayerwise) {
      start_prefill(instance);
    } else {
      p.batch.clear();
      try_prefill(instance);
    }
  }
}

}  // namespace kvsim::serving::disaggregation
