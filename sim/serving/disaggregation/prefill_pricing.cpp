#include "sim/serving/disaggregation/prefill_pricing.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"

namespace kvsim::serving::disaggregation {

std::int64_t PrefillPricing::priced_length(std::int64_t prompt) const {
  const std::int64_t b = d_.prefill.bucket;
  return (prompt + b - 1) / b * b;
}

const PricedPrefill& PrefillPricing::price(int instance, std::int64_t prompt) {
  const std::int64_t tokens = priced_length(prompt);
  const auto key = std::make_pair(instance, tokens);
  if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
  return cache_.emplace(key, run(instance, tokens)).first->second;
}

PricedPrefill PrefillPricing::run(int instance, std::int64_t tokens) const {
  const prefill::PrefillStrategy& strategy = *d_.prefill.strategy;
  const Scenario& pool = *d_.prefill_scenario;  // the scenario on the prefill pool's GPU
  const auto fail = [&](const std::string& why) -> InputError {
    return InputError(s_.file, "/serving/disaggregation/prefill",
                      fmt::format("{} on {} x {} cannot prefill a prompt of {} tokens{}: {}",
                                  strategy.label(), d_.prefill.gpus, pool.gpu.name, tokens,
                                  d_.prefill.bucket > 1 ? " (rounded up to the bucket)" : "",
                                  why));
  };
  if (strategy.tensor_parallel(d_.prefill.gpus) == 1 && d_.prefill.gpus > 1 &&
      tokens < d_.prefill.gpus) {
    throw fail("it splits the tokens and needs at least one per GPU");
  }
  prefill::PrefillSetup setup = pool.prefill_setup();
  setup.context_tokens = tokens;
  setup.gpus = d_.prefill_gpus(instance);
  try {
    if (auto why = prefill::memory_overflow(strategy.memory_plan(setup), pool.memory_capacity());
        !why.empty()) {
      throw fail(why);
    }
    prefill::PrefillResult r = strategy.run(setup, false);
    if (auto why = prefill::memory_overflow(strategy.memory_of_run(setup, r),
                                            pool.memory_capacity());
        !why.empty()) {
      throw fail(why);
    }
    return {r.ttft, std::move(r.partition)};
  } catch (const std::invalid_argument& e) {  // a layout the prompt cannot fill (ring)
    throw fail(e.what());
  }
}

}  // namespace kvsim::serving::disaggregation
