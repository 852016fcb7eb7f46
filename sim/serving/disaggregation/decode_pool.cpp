// A disaggregated run's decode instances: continuous batches of one token per request, priced
// as a colocated replica's decode iteration, and the requests' completions (see
// disaggregated_run.hpp).
#include "sim/serving/disaggregation/run_state.hpp"
#include "sim/serving/flow_stage.hpp"
#include "sim/serving/stage_time.hpp"

namespace kvsim::serving::disaggregation {

// The KV cache is at the decode instance: the first token (sampled by the prefill) streams now.
void DisaggregatedRun::kv_arrived(std::uint32_t id) {
  account();
  Flight& f = flights_[id];
  const SimTime now = queue_.now();
  decode_[static_cast<std::size_t>(f.decode)].used += f.request.prompt;
  f.first_token = now;
  emit(f, now);
  if (f.generated >= f.request.output) {
    complete(id, now);
    retry_waiting();
    return;
  }
  decode_[static_cast<std::size_t>(f.decode)].ready.push_back(id);
  try_iterate(f.decode);
}

// Every request decoding on the instance, and those ready while there are batch slots, run one
// token each: IterationCost's batch on one GPU, its all-reduces among the ranks in closed form,
// and the serving host overhead.
void DisaggregatedRun::try_iterate(int instance) {
  DecodeInstance& d = decode_[static_cast<std::size_t>(instance)];
  if (d.iterating) return;
  while (!d.ready.empty() &&
         static_cast<std::int64_t>(d.running.size()) < d_.decode.max_batch_size) {
    d.running.push_back(d.ready.front());
    d.ready.pop_front();
  }
  if (d.running.empty()) return;
  shape_.clear();
  for (const std::uint32_t id : d.running) {
    const Flight& f = flights_[id];
    shape_.decodes.push_back(f.request.prompt + f.generated);  // the new token's KV included
  }
  shape_.emitting = static_cast<std::int64_t>(d.running.size());
  const IterationCompute compute = cost_(shape_);
  const StageSpan whole{static_cast<int>(s_.model.layers), true, true};
  if (communication_.flows() && d.gpus.size() > 1) {  // all-reduces as flows (flow_stage.hpp)
    d.iterating = true;
    d.iteration_started = queue_.now();
    communication_.stage_walk(d.gpus).start(compute, whole, shape_.tokens(), setup_.host_overhead,
                                            [this, instance] { iteration_done(instance); });
    return;
  }
  const Duration step = setup_.host_overhead +
                        stage_time(compute, whole, d.gpus, shape_.tokens(), communication_);
  d.iterating = true;
  d.busy += step;
  queue_.schedule_in(step, Phase::kCompletion, [this, instance] { iteration_done(instance); });
}

void DisaggregatedRun::iteration_done(int instance) {
  account();
  DecodeInstance& d = decode_[static_cast<std::size_t>(instance)];
  const SimTime now = queue_.now();
  d.iterating = false;
  if (communication_.flows() && d.gpus.size() > 1) d.busy += now - d.iteration_started;
  std::size_t kept = 0;
  for (const std::uint32_t id : d.running) {
    Flight& f = flights_[id];
    ++d.used;  // the token this iteration consumed
    emit(f, now);
    if (f.generated >= f.request.output) {
      complete(id, now);
    } else {
      d.running[kept++] = id;
    }
  }
  d.running.resize(kept);
  retry_waiting();
  try_iterate(instance);
}

void DisaggregatedRun::emit(Flight& f, SimTime now) {
  if (f.last_token.count() >= 0) totals_.itl.add(to_seconds(now - f.last_token));
  f.last_token = now;
  if (observers_.token) observers_.token(f.request.id, f.generated, to_seconds(now - SimTime{0}));
  ++f.generated;
}

// Frees the reservation and records the latencies as a colocated replica does
// (replica_completion.cpp), with TTFT as disaggregated_run.hpp defines it.
void DisaggregatedRun::complete(std::uint32_t id, SimTime now) {
  const Flight f = flights_[id];
  free_flights_.push_back(id);
  DecodeInstance& d = decode_[static_cast<std::size_t>(f.decode)];
  d.reserved -= f.request.prompt + f.request.output;
  d.used -= f.request.prompt + f.generated - 1;
  --d.held;
  if (d.held == 0) return_to_mixed_pool_from_decode(static_cast<std::size_t>(f.decode));
  const double arrival = to_seconds(f.request.arrival - SimTime{0});
  const double first = to_seconds(f.first_token - SimTime{0});
  const double end = to_seconds(now - SimTime{0});
  totals_.ttft.add(first - arrival);
  totals_.e2e.add(end - arrival);
  std::optional<double> tpot;
  if (f.request.output > 1) {
    tpot = (end - first) / static_cast<double>(f.request.output - 1);
    totals_.tpot.add(*tpot);
  }
  ++totals_.completed;
  totals_.request_completed(now.count());
  totals_.input_tokens += static_cast<std::uint64_t>(f.request.prompt);
  totals_.output_tokens += static_cast<std::uint64_t>(f.request.output);
  const bool tpot_ok = !setup_.tpot_slo || !tpot || *tpot <= *setup_.tpot_slo;
  if ((!setup_.ttft_slo || first - arrival <= *setup_.ttft_slo) && tpot_ok) ++totals_.good;
  if (observers_.request) {
    observers_.request({f.request.id, f.decode, arrival, to_seconds(f.scheduled - SimTime{0}),
                        first, end, f.request.prompt, f.request.output, 0});
  }
  arrivals_.client_finished();
  if (totals_.completed + totals_.rejected == workload_.total()) queue_.stop();
}

// Token-seconds of KV reserved (held) and computed (used) over the decode pool, as the
// colocated replicas count them: kv_utilization and kv_waste in the summary.
void DisaggregatedRun::account() {
  const double dt = to_seconds(queue_.now() - accounted_);
  accounted_ = queue_.now();
  for (const DecodeInstance& d : decode_) {
    totals_.kv_used_area += dt * static_cast<double>(d.used);
    totals_.kv_held_area += dt * static_cast<double>(d.reserved);
  }
}

}  // namespace kvsim::serving::disaggregation
