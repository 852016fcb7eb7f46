// A disaggregated run's arrivals, prefill instances, KV transfers, back-pressure and summary
// (see disaggregated_run.hpp; decode instances are in decode_pool.cpp).
#include "sim/serving/disaggregation/disaggregated_run.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "sim/serving/disaggregation/run_state.hpp"

namespace kvsim::serving::disaggregation {

DisaggregatedRun::DisaggregatedRun(const Scenario& s, ServingSetup& setup, Workload& workload,
                                   const ServingObservers& observers)
    : s_(s),
      setup_(setup),
      d_(*setup.disaggregation),
      workload_(workload),
      observers_(observers),
      pricing_(s, d_),
      cost_(*d_.decode_scenario, d_.decode.tensor_parallel),  // on the decode pool's GPU
      communication_(*d_.decode_scenario, false, queue_),
      client_(workload.max_concurrency()),
      prefill_(static_cast<std::size_t>(d_.prefill.instances)),
      decode_(static_cast<std::size_t>(d_.decode.instances)),
      wait_started_(prefill_.size()) {
  // Decode capacity: the colocated budget of a one-stage replica of tensor_parallel GPUs
  // (setup.cpp's kv_budget), built by the memory manager.
  for (int j = 0; j < d_.decode.instances; ++j) {
    decode_[static_cast<std::size_t>(j)].gpus = d_.decode_gpus(j);
    decode_[static_cast<std::size_t>(j)].capacity = setup.memories.at(0)->capacity();
  }
  kv_bytes_per_token_ = s.model.kv_bytes_per_token(d_.prefill_scenario->precision.kv_cache);
}

ServingResult DisaggregatedRun::run() {
  if (auto r = workload_.next()) {
    first_arrival_ = accounted_ = r->arrival;
    pending_ = *r;
    queue_.schedule_at(r->arrival, Phase::kArrival, [this] { arrive(); });
  }
  queue_.run();
  if (arrived_ != workload_.total() ||
      totals_.completed + totals_.rejected != workload_.total()) {
    throw std::logic_error(fmt::format("disaggregated run: {} of {} requests arrived, {} "
                                       "completed",
                                       arrived_, workload_.total(), totals_.completed));
  }
  return result();
}

// As simulate_serving: one arrival pending at a time; rejected past the context; the client's
// limit.
void DisaggregatedRun::arrive() {
  const Request r = pending_;
  ++arrived_;
  if (auto n = workload_.next()) {
    pending_ = *n;
    queue_.schedule_at(n->arrival, Phase::kArrival, [this] { arrive(); });
  }
  if (r.truncated && totals_.truncated++ == 0) first_truncated_ = r;
  if (r.prompt + r.output > s_.model.max_context) {
    if (totals_.rejected++ == 0) first_rejected_ = r;
    if (totals_.completed + totals_.rejected == workload_.total()) queue_.stop();
    return;
  }
  const std::int64_t need = r.prompt + r.output;
  if (need > decode_.front().capacity) {
    throw InputError(s_.file, "/serving/disaggregation/decode",
                     fmt::format("{} needs {} KV tokens (prompt + output); a decode instance "
                                 "holds {}: give decode instances more tensor_parallel GPUs",
                                 workload_.describe(r), need, decode_.front().capacity));
  }
  if (client_.admit(r)) send(r);
}

void DisaggregatedRun::send(const Request& r) {
  loads_.clear();
  for (const PrefillInstance& p : prefill_) {
    loads_.push_back({p.queue.size() + (p.computing || p.waiting ? 1u : 0u), p.queued_tokens, 0});
  }
  const auto i = static_cast<int>(d_.policy->prefill(loads_));
  PrefillInstance& p = prefill_[static_cast<std::size_t>(i)];
  p.queue.push_back(r);
  p.queued_tokens += r.prompt;
  try_prefill(i);
}

std::uint32_t DisaggregatedRun::new_flight(const Request& r, int instance) {
  std::uint32_t id;
  if (free_flights_.empty()) {
    id = static_cast<std::uint32_t>(flights_.size());
    flights_.emplace_back();
  } else {
    id = free_flights_.back();
    free_flights_.pop_back();
  }
  flights_[id] = Flight{};
  flights_[id].request = r;
  flights_[id].prefill = instance;
  return id;
}

// The instance's next prompt, unless it is computing or held for decode memory. Layer by
// layer, its transfer (and so its decode reservation) starts with the prefill.
void DisaggregatedRun::try_prefill(int instance) {
  PrefillInstance& p = prefill_[static_cast<std::size_t>(instance)];
  if (p.computing || p.waiting || p.queue.empty()) return;
  const std::uint32_t id = new_flight(p.queue.front(), instance);
  p.queue.pop_front();
  Flight& f = flights_[id];
  f.prefill_time = pricing_.price(instance, f.request.prompt).ttft;
  if (d_.transfer == TransferMode::kLayerwise && !start_transfer(id)) {
    p.waiting = id;
    waiting_.push_back(instance);
    wait_started_[static_cast<std::size_t>(instance)] = queue_.now();
    ++waits_;
    return;
  }
  start_prefill(instance, id);
}

void DisaggregatedRun::start_prefill(int instance, std::uint32_t id) {
  PrefillInstance& p = prefill_[static_cast<std::size_t>(instance)];
  Flight& f = flights_[id];
  f.scheduled = queue_.now();
  totals_.queueing.add(to_seconds(f.scheduled - f.request.arrival));
  p.computing = true;
  p.busy += f.prefill_time;
  queue_.schedule_in(f.prefill_time, Phase::kCompletion,
                     [this, instance, id] { prefill_done(instance, id); });
}

// The prompt is done: whole-cache transfers start now if a decode instance has room (else the
// instance holds it and waits); the instance takes its next prompt once this one has left.
void DisaggregatedRun::prefill_done(int instance, std::uint32_t id) {
  PrefillInstance& p = prefill_[static_cast<std::size_t>(instance)];
  p.computing = false;
  p.queued_tokens -= flights_[id].request.prompt;
  if (d_.transfer == TransferMode::kWhole && !start_transfer(id)) {
    p.waiting = id;
    waiting_.push_back(instance);
    wait_started_[static_cast<std::size_t>(instance)] = queue_.now();
    ++waits_;
    return;
  }
  try_prefill(instance);
}

// Chooses the decode instance, reserves the request's KV there and schedules the cache's
// arrival; false when no instance has room.
bool DisaggregatedRun::start_transfer(std::uint32_t id) {
  Flight& f = flights_[id];
  const std::int64_t need = f.request.prompt + f.request.output;
  account();
  loads_.clear();
  for (const DecodeInstance& d : decode_) loads_.push_back({d.held, d.reserved, d.capacity});
  const auto j = d_.policy->decode(loads_, need);
  if (!j) return false;
  DecodeInstance& d = decode_[*j];
  if (d.reserved + need > d.capacity) {
    throw std::logic_error(fmt::format("global scheduler {} chose decode instance {} without "
                                       "room for {} KV tokens",
                                       d_.policy->name(), *j, need));
  }
  d.reserved += need;
  ++d.held;
  f.decode = static_cast<int>(*j);
  const PricedPrefill& priced = pricing_.price(f.prefill, f.request.prompt);
  f.transfer = kv_transfer(d_.topology(), d_.prefill_gpus(f.prefill), priced.partition, d.gpus,
                           kv_bytes_per_token_ * static_cast<double>(f.request.prompt));
  ++transfers_;
  transfer_bytes_ += f.transfer.bytes;
  transfer_seconds_ += to_seconds(f.transfer.total());
  const Duration delay =
      d_.transfer == TransferMode::kWhole
          ? f.transfer.total()
          : layerwise_end(f.prefill_time, f.transfer, s_.model.layers);
  queue_.schedule_in(delay, Phase::kArrival, [this, id] { kv_arrived(id); });
  return true;
}

// Decode memory was freed: the held instances, oldest first, try again; the first that still
// finds no room keeps the rest waiting (no overtaking).
void DisaggregatedRun::retry_waiting() {
  while (!waiting_.empty()) {
    const int instance = waiting_.front();
    PrefillInstance& p = prefill_[static_cast<std::size_t>(instance)];
    const std::uint32_t id = *p.waiting;
    if (!start_transfer(id)) return;
    waiting_.pop_front();
    p.waiting.reset();
    wait_seconds_ += to_seconds(queue_.now() - wait_started_[static_cast<std::size_t>(instance)]);
    if (d_.transfer == TransferMode::kLayerwise) {
      start_prefill(instance, id);
    } else {
      try_prefill(instance);
    }
  }
}

}  // namespace kvsim::serving::disaggregation
