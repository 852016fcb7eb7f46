#pragma once
// Screening a disaggregated candidate (prefill and decode pools, sim/serving/disaggregation)
// before simulation: whether a prefill instance can hold the longest prompt, and the analytic
// throughput bound of the split cluster, in requests/s, an optimistic roofline over the
// workload's mean prompt (P) and output (O) tokens, the smaller of
//   prefill compute:  prefill GPUs x peak FLOP/s / (2 x active parameters x P)
//   decode compute:   decode GPUs x peak FLOP/s / (2 x active parameters x (O - 1))
//   decode bandwidth: decode instances x max_batch_size x tp x HBM B/s /
//                     (weight bytes x active share x (O - 1))
// (the prefill samples each request's first token, so decode makes O - 1; attention, KV reads,
// transfers and collectives only add time, so each is an upper bound). The decode pool's KV
// capacity against the longest request is checked by screen() as for colocated replicas.
// Who calls it: screen (screening.cpp). Pure.

#include <string>

#include "sim/plan/screening.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/disaggregation/pools.hpp"

namespace kvsim::plan {

/// Sets out.rate_bound and out.bound_by for the pools `d`; returns why a prefill instance
/// cannot hold the workload's longest prompt (as serving would refuse it), or empty.
std::string screen_pools(const Scenario& s, const serving::disaggregation::Disaggregation& d,
                         const WorkloadStats& w, Screening& out);

}  // namespace kvsim::plan
