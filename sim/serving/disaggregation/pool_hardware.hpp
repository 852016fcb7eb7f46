#pragma once
// A disaggregated pool's hardware when the pools' GPU types differ from /cluster/gpu
// (heterogeneous clusters: Splitwise's H100 prefill and A100 decode).
//
// A server holds one GPU type, so a heterogeneous cluster is a topology whose servers carry the
// pools' GPU types: the prefill and decode pools, when their types differ, must lie on
// different servers (every route between them crosses the network through NICs: a
// `multi-node` topology whose node boundary separates the pools); otherwise the layout is
// refused by name. The topology's links are built for /cluster/gpu; a pool of another type has
// its GPUs' own links rescaled to its spec: links joining its GPUs to an NVSwitch or another GPU
// by its NVLink bandwidth over the cluster GPU's, links to a NIC or PCIe switch by its PCIe
// bandwidth over the cluster GPU's (so a given link bandwidth scales by the same ratio).
//
// Each pool then sees the scenario on its own GPU (pool_scenario): the spec (HBM for the memory
// checks and decode KV budget, peaks for pricing), the precision adapted to it
// (precision_on_gpu, as load_scenario adapts the cluster's: fp8 on an A100 runs as W8A16), the
// scenario's /compute node as given resolved again for it (Scenario::compute_on; a pool on
// /cluster/gpu shares the scenario's own model): a roofline keeps the parameters the scenario
// gives and takes the pool GPU's defaults (its achieved GEMM and stream figures) for the rest;
// a calibrated profile (a shipped name or a file, with its "fallback") is read again where it
// can price the pool's GPU (the GPU it was measured on, or its SM generation by rule, derived);
// otherwise the pool is priced by the roofline with /compute/fallback's parameters where given
// and its GPU's defaults for the rest, with a warning. Then the rescaled topology. Everything
// else (model, engine, collectives, background, seed) is the scenario's.
//
// Who calls it: read_disaggregation (pools.cpp). Warnings go to the run's summary.

#include <memory>
#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace kvsim::serving::disaggregation {

/// `s` with its topology's links rescaled for the GPUs of each pool on another GPU type than
/// /cluster/gpu (`pools`: each pool's GPU indices and GPU). Throws InputError at `at` when a
/// rescale needs a bandwidth a GPU spec lacks (no NVLink on one side).
struct PoolGpus {
  std::vector<int> gpus;
  GpuSpec gpu;
  std::string name;  // "prefill" or "decode", for messages
};
net::Topology heterogeneous_topology(const Scenario& s, const std::vector<PoolGpus>& pools,
                                     const ConfigNode& at);

/// Refuses (InputError at `at`) pools of different GPU types that share a server: a route
/// between them that does not cross the network.
void check_placement(const net::Topology& t, const PoolGpus& prefill, const PoolGpus& decode,
                     const ConfigNode& at);

/// The scenario as the pool on `gpu` sees it, on `topology` (see above); warnings of its own
/// (precision and compute on that GPU) are appended to `warnings`.
std::shared_ptr<const Scenario> pool_scenario(const Scenario& s, const PoolGpus& pool,
                                              const net::Topology& topology,
                                              std::vector<std::string>& warnings);

}  // namespace kvsim::serving::disaggregation
