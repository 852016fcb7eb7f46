#pragma once
// The per-GPU memory check of a scenario's prefill strategies, before and after they run.
//
// load_scenario() calls check_prefill_memory() so that every command that reads a scenario
// (run, search, validate, sweep) refuses a strategy whose GPUs cannot hold their weights, KV
// cache and activations in HBM x /cluster/memory_utilization. A KV-Runahead partition chosen
// by simulation is only known after the run; run_prefill() checks it then, before anything is
// reported.

#include <vector>

#include "sim/scenario/scenario.hpp"

namespace kvsim {

/// Throws InputError at /prefill/strategies/N when strategy N's plan does not fit.
void check_prefill_memory(const ConfigNode& prefill, const Scenario& s);

/// One strategy's run and the memory plan of what it ran.
struct CheckedPrefill {
  prefill::PrefillResult result;
  prefill::MemoryPlan memory;
};

/// Runs strategy `index` of `s`; throws InputError at /prefill/strategies/N when its run's own
/// plan (a searched or predicted partition) does not fit.
CheckedPrefill run_checked(const Scenario& s, std::size_t index, bool record_trace);

/// Runs every prefill strategy of `s` (which must have a prefill section) in order; throws
/// InputError at /prefill/strategies/N when a run's own plan (a searched partition) does not fit.
std::vector<CheckedPrefill> run_prefill(const Scenario& s, bool record_trace);

}  // namespace kvsim
