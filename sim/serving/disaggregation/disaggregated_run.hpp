#pragma once
// A disaggregated serving run (Splitwise, DistServe): requests queue at prefill instances, are
// prefilled there with the pool's strategy (alone, or in batches: pools.hpp), have their KV
// cache shipped to a decode instance (closed form, kv_transfer.hpp, or as flows under
// "communication": "flows", kv_flows.hpp), and decode there to completion. Splitwise's mixed
// pool lends idle instances to whichever pool is overloaded (pools.hpp's MixedPool).
//
// TTFT (the definition every disaggregated summary states): from the request's arrival to the
// moment its decode instance holds the whole prompt's KV cache, when the first token (sampled
// by the prefill) streams to the client: queueing at the prefill instance + the prefill + the
// KV transfer (or, layer by layer, the part of it that does not overlap the prefill) + any
// wait for decode memory. TPOT: from there to the last token, over output - 1.
//
// Memory: a decode instance reserves a request's prompt + output tokens of KV when its transfer
// starts (after the prefill, or with "layerwise" when the prefill starts) and frees them when
// the request completes; a request that fits no instance waits, and so does its prefill
// instance (it holds the finished batch's KV, or has not started), in order of arrival at the
// wait: a full decode pool back-pressures prefill. A batch's transfers start in order; its
// instance is held until the last has started.
//
// Who calls it: simulate_serving (engine.cpp) when the setup has a disaggregation. Each call
// owns its event queue; single-threaded and deterministic. Units as engine.hpp's.

#include "sim/serving/engine.hpp"

namespace kvsim::serving::disaggregation {

/// Runs the workload through setup.disaggregation's pools; summary as simulate_serving's, plus
/// "disaggregation" (pools, utilisation, transfers, back-pressure, the TTFT definition).
ServingResult simulate_disaggregated(const Scenario& s, ServingSetup& setup, Workload workload,
                                     const ServingObservers& observers);

}  // namespace kvsim::serving::disaggregation
