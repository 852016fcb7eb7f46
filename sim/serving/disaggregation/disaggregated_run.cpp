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
      communication_(*d_.decode_scenario, setup.flows, queue_),  // the pools' topology
      arrivals_(s, workload, queue_, totals_, [this](const Request& r) { send(r); },
                [this](const Request& r) { check_fits(r); }),
      prefill_(static_cast<std::size_t>(d_.prefill.instances + d_.mixed.instances)),
      decode_(static_cast<std::size_t>(d_.decode.instances + d_.mixed.instances)),
      wait_started_(prefill_.size()),
      mixed_(static_cast<std::size_t>(d_.mixed.instances), Role::kIdle) {
  // Decode capacity: the colocated budget of a one-stage replica of tensor_parallel GPUs
  // (setup.cpp's kv_budget), built by the memory manager.
  for (int j = 0; j < static_cast<int>(decode_.size()); ++j) {
    decode_[static_cast<std::size_t>(j)].gpus = d_.decode_gpus(j);
    decode_[static_cast<std::size_t>(j)].capacity = setup.memories.at(0)->capacity();
  }
  kv_bytes_per_token_ = s.model.kv_bytes_per_token(d_.prefill_scenario->precision.kv_cache);
  if (communication_.flows()) kv_flows_.emplace(communication_.network());
}

ServingResult DisaggregatedRun::run() {
  arrivals_.start();
  accounted_ = arrivals_.first_arrival();
  queue_.run();
  arrivals_.check_all_served();
  ServingResult out = result();
  if (d_.prefill.max_batch_size > 1) {
    out.summary["warnings"].push_back(fmt::format(
        "prefill batches (up to /serving/disaggregation/prefill/max_batch_size = {} prompts) are "
        "priced as one causal pass over their summed tokens: attention also counts the pairs "
        "across prompts, so batched prefill times are upper bounds",
        d_.prefill.max_batch_size));
  }
  if (kv_flows_) {  // what the same transfers take in closed form, for the contention's cost
    Json& kv = out.summary["disaggregation"]["kv_transfer"];
    kv["closed_form_seconds"] = closed_form_seconds_;
    kv["seconds_definition"] =
        "as flows: from the send (whole) or the prefill's end (layerwise) to the last byte at "
        "the decode instance; closed_form_seconds: the closed form of the same span";
  }
  return out;
}

// A request within the model's context (the shared arrival step rejects the others) that no
// decode instance could ever hold is refused.
void DisaggregatedRun::check_fits(const Request& r) const {
  const std::int64_t need = r.prompt + r.output;
  if (need > decode_.front().capacity) {
    throw InputError(s_.file, "/serving/disaggregation/decode",
                     fmt::format("{} needs {} KV tokens (prompt + output); a decode instance "
                                 "holds {}: give decode instances more tensor_parallel GPUs",
                                 workload_.describe(r), need, decode_.front().capacity));
  }
}

// To the prefill instance the policy picks among the prefill pool's (with the mixed instances
// lent to it), or to a mixed instance lent now because every one is over the threshold.
void DisaggregatedRun::send(const Request& r) {
  loads_.clear();
  candidates_.clear();
  for (std::size_t k = 0; k < prefill_.size(); ++k) {
    if (!in_prefill_pool(k)) continue;
    const PrefillInstance& p = prefill_[k];
    candidates_.push_back(k);
    loads_.push_back({p.queue.size() + p.batch.size(), p.queued_tokens, 0});
  }
  const std::optional<std::size_t> lent = lend_to_prefill();
  const auto i = static_cast<int>(lent ? *lent : candidates_[d_.policy->prefill(loads_)]);
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

// Chooses the decode instance, reserves the request's KV there and schedules the cache's
// arrival; false when no instance has room.
bool DisaggregatedRun::start_transfer(std::uint32_t id) {
  Flight& f = flights_[id];
  const std::int64_t need = f.request.prompt + f.request.output;
  account();
  const std::optional<std::size_t> j = choose_decode(need);
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
  // A prompt prefilled alone lies on the GPUs in its strategy's partition; one of a batch in
  // the batch's even split (the strategies that batch split evenly or by heads).
  static const std::vector<std::int64_t> kEven;
  const std::vector<std::int64_t>& shares =
      f.batch_tokens == f.request.prompt
          ? pricing_.price(f.prefill, f.request.prompt).partition
          : kEven;
  const std::vector<int> from = d_.prefill_gpus(f.prefill);
  f.transfer = kv_transfer(d_.topology(), from, shares, d.gpus,
                           kv_bytes_per_token_ * static_cast<double>(f.request.prompt));
  ++transfers_;
  transfer_bytes_ += f.transfer.bytes;
  if (kv_flows_) {
    send_as_flows(id, from, shares);
    return true;
  }
  transfer_seconds_ += to_seconds(f.transfer.total());
  const Duration delay =
      d_.transfer == TransferMode::kWhole
          ? f.transfer.total()
          : layerwise_end(f.prefill_time, f.transfer, s_.model.layers);
  queue_.schedule_in(delay, Phase::kArrival, [this, id] { kv_arrived(id); });
  return true;
}

// The decode instance the policy picks among the decode pool's (with the mixed instances lent
// to it) for `need` KV tokens; when none has room, an idle mixed instance lent now, if any.
std::optional<std::size_t> DisaggregatedRun::choose_decode(std::int64_t need) {
  loads_.clear();
  candidates_.clear();
  for (std::size_t k = 0; k < decode_.size(); ++k) {
    if (!in_decode_pool(k)) continue;
    const DecodeInstance& d = decode_[k];
    candidates_.push_back(k);
    loads_.push_back({d.held, d.reserved, d.capacity});
  }
  if (const auto c = d_.policy->decode(loads_, need)) return candidates_[*c];
  return lend_to_decode();
}

// The transfer as flows (kv_flows.hpp): the whole cache now, or layer by layer as the prefill
// that starts now computes them. Its time is counted from now (whole) or from the prefill's end
// (layerwise: the part TTFT sees), beside the closed form of the same span.
void DisaggregatedRun::send_as_flows(std::uint32_t id, const std::vector<int>& from,
                                     const std::vector<std::int64_t>& shares) {
  Flight& f = flights_[id];
  const bool layerwise = d_.transfer == TransferMode::kLayerwise;
  const std::int64_t layers = layerwise ? s_.model.layers : 1;
  const Duration prefill = layerwise ? f.prefill_time : Duration{0};
  f.transfer_timed_from = queue_.now() + prefill;
  closed_form_seconds_ +=
      to_seconds(layerwise ? layerwise_end(prefill, f.transfer, layers) - prefill
                           : f.transfer.total());
  kv_flows_->start(from, shares, decode_[static_cast<std::size_t>(f.decode)].gpus,
                   f.transfer.bytes, layers, prefill, [this, id] { kv_landed(id); });
}

// Flows: the last byte landed.
void DisaggregatedRun::kv_landed(std::uint32_t id) {
  transfer_seconds_ += to_seconds(queue_.now() - flights_[id].transfer_timed_from);
  kv_arrived(id);
}

}  // namespace kvsim::serving::disaggregation
