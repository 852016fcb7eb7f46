#pragma once
// The speed-up of speculative decoding in a serving run: the same scenario, workload and seed
// run again without the drafter, and summary.json's "speculative" given the baseline's TPOT,
// inter-token latency and throughput beside the ratios (baseline / speculative for latencies,
// speculative / baseline for throughput: above 1 is a gain).
//
// Who calls it: kvsim serve, after a run whose "serving" section has a "drafter".

#include "sim/scenario/scenario.hpp"

namespace kvsim::serving::speculative {

/// `serving` is the scenario's "serving" node; `summary` the speculative run's summary.json.
void add_baseline(const Scenario& s, const ConfigNode& serving, Json& summary);

}  // namespace kvsim::serving::speculative
