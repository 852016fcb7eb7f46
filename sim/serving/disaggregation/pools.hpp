#pragma once
// Prefill/decode disaggregation (Splitwise, DistServe): the "disaggregation" object of a
// scenario's "serving" section, read into instance pools placed on the topology.
//
//   "disaggregation": {
//     "prefill":  { "instances": 2, "gpus": 4, "strategy": { "type": "kvr" }, "bucket": 1,
//                   "gpu": "h100-sxm", "price_per_gpu_hour": 2.69 },
//     "decode":   { "instances": 4, "tensor_parallel": 2, "max_batch_size": 256,
//                   "gpu": "a100-sxm4-80gb" },
//     "transfer": "whole",                     // or "layerwise" (Splitwise's overlap)
//     "policy":   { "type": "join-shortest-queue" },  // global scheduler (global_scheduler.hpp)
//     "mixed":    { "instances": 1, "threshold": 4 }  // Splitwise's mixed pool (optional)
//   }
//
// Placement: prefill instance i is GPUs [i x gpus, (i + 1) x gpus) of the topology in order
// (its chain for the prefill strategy); decode instance j follows all prefill instances, its
// tensor-parallel ranks consecutive. Without "disaggregation" the section describes colocated
// replicas, unchanged.
//
// GPU types: each pool's "gpu" (a catalog name or inline spec, as /cluster/gpu; default
// /cluster/gpu). Pools of different types must sit on different servers, and each pool prices
// its prefill, decode iterations, memory checks and KV budget on its own GPU
// (pool_hardware.hpp). Prices: "price_per_gpu_hour" (US dollars; default the GPU's price in
// models/compute/gpu_prices.hpp, with its source) gives the summary's cost_per_hour per pool.
//
// A prefill instance runs one prompt at a time with its strategy (sim/prefill, the code
// `kvsim run` runs), priced at the prompt rounded up to a multiple of "bucket" tokens (1:
// exact) and cached per (instance, priced length). With "max_batch_size" above 1 it runs a
// batch of waiting prompts as one concatenated pass, priced as the strategy's prefill of their
// summed tokens: the GEMMs, collectives and host costs of the batch exactly, attention as one
// causal sequence over the concatenation, an upper bound (it also counts the pairs across
// prompts, which a varlen kernel skips); a run says so in its warnings. Only strategies whose
// split does not follow token positions batch (tp and tsp); kvr and ring are refused, and so is
// "layerwise" (a batch's per-layer sends are not modelled). A decode instance batches every request
// whose KV it holds, up to max_batch_size, one token each per iteration, priced as a colocated
// replica's decode iteration (IterationCost and stage_time, tensor_parallel ranks, one stage).
//
// Who calls it: ServingSetup::from_config (setup.cpp) when the section has "disaggregation";
// it refuses the colocated keys the pools replace. The run is disaggregated_run.hpp.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/prefill/prefill_strategy.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/disaggregation/global_scheduler.hpp"

namespace kvsim::serving::disaggregation {

enum class TransferMode {
  kWhole,      // the whole KV cache after the prefill ends
  kLayerwise,  // each layer's KV as soon as the prefill has computed it (Splitwise)
};

/// A pool's GPU type and its price per GPU-hour (none: no price known; cost is not stated).
struct PoolGpu {
  GpuSpec gpu;
  std::optional<double> usd_per_gpu_hour;
  std::string price_source;
};

struct PrefillPool {
  PoolGpu hardware;
  int instances = 1;
  int gpus = 1;  // per instance
  std::unique_ptr<prefill::PrefillStrategy> strategy;
  std::int64_t bucket = 1;  // tokens: prompts are priced rounded up to a multiple of it
  // Batched prefill: the oldest waiting prompt and then more, in order, up to max_batch_size
  // prompts and max_batched_tokens tokens (default: the model's context), run as one pass of
  // the strategy over their summed tokens (see below).
  std::int64_t max_batch_size = 1;
  std::int64_t max_batched_tokens = 0;
};

struct DecodePool {
  PoolGpu hardware;
  int instances = 1;
  int tensor_parallel = 1;
  std::int64_t max_batch_size = 256;  // sequences decoding together on one instance
};

// Splitwise's mixed pool (Patel et al., ISCA 2024, section 4.2): machines that belong to
// neither pool until one is overloaded. An idle mixed instance joins the prefill pool when every
// prefill instance has `threshold` or more requests queued or running, and the decode pool when
// no decode instance has room for a request's KV (it would otherwise wait); it returns to the
// mixed pool once its work there is done (no prompt queued or running; no KV held). A mixed
// instance has the prefill pool's GPUs per instance and strategy, which must equal the decode
// pool's tensor_parallel (its decode layout); the instances follow the decode instances.
struct MixedPool {
  int instances = 0;
  std::int64_t threshold = 4;  // requests queued or running per prefill instance
};

struct Disaggregation {
  PrefillPool prefill;
  DecodePool decode;
  MixedPool mixed;
  TransferMode transfer = TransferMode::kWhole;
  std::unique_ptr<GlobalScheduler> policy;
  // The scenario as each pool sees it (pool_hardware.hpp): the scenario itself when both pools
  // use /cluster/gpu; both on one rescaled topology otherwise.
  std::shared_ptr<const Scenario> prefill_scenario;
  std::shared_ptr<const Scenario> decode_scenario;
  std::vector<std::string> warnings;  // of the pools' GPUs, for the run's summary

  /// The topology the pools and the KV transfers run on.
  const net::Topology& topology() const { return *prefill_scenario->topology; }

  // Instances past a pool's own are the mixed pool's: prefill_gpus(prefill.instances + m) and
  // decode_gpus(decode.instances + m) are both mixed_gpus(m).
  std::vector<int> prefill_gpus(int instance) const;  // in chain order
  std::vector<int> decode_gpus(int instance) const;   // in rank order
  std::vector<int> mixed_gpus(int instance) const;
  Json to_json() const;
};

/// Reads serving/disaggregation; `serving` is the whole serving section, whose colocated keys
/// (replicas, tensor_parallel, pipeline_parallel, expert_parallel, router, scheduler, memory,
/// drafter) are refused by name. Throws InputError.
std::shared_ptr<Disaggregation> read_disaggregation(const ConfigNode& serving,
                                                    const Scenario& s);

}  // namespace kvsim::serving::disaggregation
