#pragma once
// The time a prefill instance takes for a prompt: its strategy's run (sim/prefill, the code
// `kvsim run` runs) on the instance's GPUs at the prompt's length rounded up to the pool's
// bucket, with the scenario's topology, collectives, background traffic and seed, on the
// prefill pool's GPU (its compute model, precision and HBM: Disaggregation::prefill_scenario). Memoised per
// (instance, priced length): a searched KV-Runahead partition is searched once per length and
// instance, not per request; a bucket above 1 trades exactness for fewer searches.
//
// Each priced length's memory is checked as `kvsim run` checks it (the plan before, the run's
// own plan after): a prompt that does not fit the instance's GPUs is an InputError at
// /serving/disaggregation/prefill, as is one a token-split strategy cannot spread (fewer
// tokens than GPUs).
//
// Who calls it: the disaggregated run, when a prefill starts. Units: Duration; tokens.

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/serving/disaggregation/pools.hpp"

namespace kvsim::serving::disaggregation {

struct PricedPrefill {
  Duration ttft{0};
  std::vector<std::int64_t> partition;  // tokens per GPU (empty when the strategy splits heads)
};

class PrefillPricing {
 public:
  PrefillPricing(const Scenario& s, const Disaggregation& d) : s_(s), d_(d) {}
  const PricedPrefill& price(int instance, std::int64_t prompt);
  std::int64_t priced_length(std::int64_t prompt) const;
  std::size_t strategy_runs() const { return cache_.size(); }

 private:
  PricedPrefill run(int instance, std::int64_t tokens) const;

  const Scenario& s_;
  const Disaggregation& d_;
  std::map<std::pair<int, std::int64_t>, PricedPrefill> cache_;
};

}  // namespace kvsim::serving::disaggregation
