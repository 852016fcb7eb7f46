// Screening of disaggregated candidates (see screening_pools.hpp).
#include "sim/plan/screening_pools.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace kvsim::plan {
namespace {

// The prefill pool's memory at the longest prompt (rounded up to the pool's bucket), checked as
// serving's prefill pricing checks each prompt (prefill_pricing.cpp): the strategy's plan of
// what each GPU holds against HBM x utilisation.
std::string prefill_memory(const Scenario& s, const serving::disaggregation::Disaggregation& d,
                           std::int64_t longest_prompt) {
  const std::int64_t b = d.prefill.bucket;
  prefill::PrefillSetup setup = s.prefill_setup();
  setup.context_tokens = (longest_prompt + b - 1) / b * b;
  setup.gpus = d.prefill_gpus(0);
  const prefill::PrefillStrategy& strategy = *d.prefill.strategy;
  std::string why;
  try {
    why = prefill::memory_overflow(strategy.memory_plan(setup), s.memory_capacity());
  } catch (const std::invalid_argument& e) {  // a layout the prompt cannot fill
    why = e.what();
  }
  if (why.empty()) return why;
  return fmt::format("a prefill instance ({} on {} GPU{}) cannot hold the longest prompt, {} "
                     "tokens: {}",
                     strategy.label(), d.prefill.gpus, d.prefill.gpus == 1 ? "" : "s",
                     setup.context_tokens, why);
}

}  // namespace

std::string screen_pools(const Scenario& s, const serving::disaggregation::Disaggregation& d,
                         const WorkloadStats& w, Screening& out) {
  const LlmSpec& m = s.model;
  const double active = static_cast<double>(m.active_parameters());
  const double peak = std::max(s.gpu.peak_flops(s.precision.weights),
                               s.gpu.peak_flops(s.precision.activations));
  const double prefill_gpus = static_cast<double>(d.prefill.instances * d.prefill.gpus);
  const double decode_gpus = static_cast<double>(d.decode.instances * d.decode.tensor_parallel);
  const double inf = std::numeric_limits<double>::infinity();
  double prefill = inf, decode = inf, bandwidth = inf;
  if (peak > 0 && w.mean_prompt > 0) prefill = prefill_gpus * peak / (2 * active * w.mean_prompt);
  if (w.mean_output > 1) {
    const double tokens = w.mean_output - 1;
    if (peak > 0) decode = decode_gpus * peak / (2 * active * tokens);
    const double active_bytes =
        m.weight_bytes(s.precision) * active / static_cast<double>(m.parameters());
    bandwidth = static_cast<double>(d.decode.max_batch_size) * decode_gpus * s.gpu.hbm_bandwidth /
                (active_bytes * tokens);
  }
  out.rate_bound = std::min({prefill, decode, bandwidth});
  out.bound_by = out.rate_bound == prefill  ? "prefill compute"
                 : out.rate_bound == decode ? "decode compute"
                                            : "decode memory bandwidth";
  return prefill_memory(s, d, w.longest_prompt);
}

}  // namespace kvsim::plan
