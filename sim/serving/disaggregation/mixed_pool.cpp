// Splitwise's mixed pool in a disaggregated run (pools.hpp's MixedPool): which instances each
// pool has now, lending an idle mixed instance to an overloaded pool, and its return.
#include "sim/serving/disaggregation/run_state.hpp"

namespace kvsim::serving::disaggregation {

bool DisaggregatedRun::in_prefill_pool(std::size_t instance) const {
  const auto own = static_cast<std::size_t>(d_.prefill.instances);
  return instance < own || mixed_[instance - own] == Role::kPrefill;
}

bool DisaggregatedRun::in_decode_pool(std::size_t instance) const {
  const auto own = static_cast<std::size_t>(d_.decode.instances);
  return instance < own || mixed_[instance - own] == Role::kDecode;
}

// Every prefill instance (loads_, as send() filled it) has `threshold` or more requests queued
// or running: the first idle mixed instance joins the prefill pool and takes the request.
std::optional<std::size_t> DisaggregatedRun::lend_to_prefill() {
  for (const InstanceLoad& l : loads_) {
    if (static_cast<std::int64_t>(l.requests) < d_.mixed.threshold) return std::nullopt;
  }
  for (std::size_t m = 0; m < mixed_.size(); ++m) {
    if (mixed_[m] != Role::kIdle) continue;
    mixed_[m] = Role::kPrefill;
    ++lent_to_prefill_;
    return static_cast<std::size_t>(d_.prefill.instances) + m;
  }
  return std::nullopt;
}

// No decode instance has room for a request's KV: the first idle mixed instance joins the
// decode pool (it is empty, so it has room for any request check_fits() let in).
std::optional<std::size_t> DisaggregatedRun::lend_to_decode() {
  for (std::size_t m = 0; m < mixed_.size(); ++m) {
    if (mixed_[m] != Role::kIdle) continue;
    mixed_[m] = Role::kDecode;
    ++lent_to_decode_;
    return static_cast<std::size_t>(d_.decode.instances) + m;
  }
  return std::nullopt;
}

// No prompt queued, running or held on it: a lent instance goes back to the mixed pool.
void DisaggregatedRun::return_to_mixed_pool_from_prefill(std::size_t instance) {
  const auto own = static_cast<std::size_t>(d_.prefill.instances);
  if (instance >= own) mixed_[instance - own] = Role::kIdle;
}

// No KV held on it (nothing in flight, ready or decoding): back to the mixed pool.
void DisaggregatedRun::return_to_mixed_pool_from_decode(std::size_t instance) {
  const auto own = static_cast<std::size_t>(d_.decode.instances);
  if (instance >= own) mixed_[instance - own] = Role::kIdle;
}

// The mixed pool's GPUs, how often an instance was lent to each pool, and its busy fraction in
// each role (time computing over span x instances).
Json DisaggregatedRun::mixed_summary(double span) const {
  Duration prefill_busy{0}, decode_busy{0};
  for (std::size_t i = static_cast<std::size_t>(d_.prefill.instances); i < prefill_.size(); ++i) {
    prefill_busy += prefill_[i].busy;
  }
  for (std::size_t j = static_cast<std::size_t>(d_.decode.instances); j < decode_.size(); ++j) {
    decode_busy += decode_[j].busy;
  }
  const double instances = d_.mixed.instances;
  const auto fraction = [&](Duration busy) {
    return span > 0 ? to_seconds(busy) / (span * instances) : 0.0;
  };
  return Json{{"instances", d_.mixed.instances},
              {"gpus", d_.mixed.instances * d_.prefill.gpus},
              {"threshold", d_.mixed.threshold},
              {"lent_to_prefill", lent_to_prefill_},
              {"lent_to_decode", lent_to_decode_},
              {"prefill_busy_fraction", fraction(prefill_busy)},
              {"decode_busy_fraction", fraction(decode_busy)}};
}

}  // namespace kvsim::serving::disaggregation
