#pragma once
// A scenario file, read into typed objects and wired together.
//
// The JSON mirrors the object tree: one object per pluggable part with a "type" and its
// parameters, quantities as strings with units, presets by name. Unknown keys are errors.
// load_scenario() either returns a complete Scenario or throws InputError naming the file and
// JSON pointer; it never returns something half-read. `resolved` is the fully resolved
// scenario (every default filled in, presets expanded) that each run writes beside its results.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/compute/compute_model.hpp"
#include "models/engine/engine_model.hpp"
#include "models/llm/expert_parallel.hpp"
#include "sim/core/config.hpp"
#include "sim/network/collectives.hpp"
#include "sim/network/heterogeneity.hpp"
#include "sim/prefill/prefill_strategy.hpp"

namespace kvsim {

struct PrefillSpec {
  std::int64_t context_tokens = 0;
  std::vector<int> gpus;  // GPU indices in chain order
  AttentionImpl attention = AttentionImpl::kFused;
  std::vector<std::unique_ptr<prefill::PrefillStrategy>> strategies;
};

/// One decode step on a serving replica's layout: tensor_parallel x pipeline_parallel GPUs
/// (stage s, rank t is GPU s x tp + t), priced as kvsim serve prices an iteration.
struct DecodeSpec {
  std::int64_t batch_size = 1;
  std::int64_t context_tokens = 0;  // KV tokens per request when the step runs, new token included
  int tensor_parallel = 1;
  int pipeline_parallel = 1;
  ExpertParallel expert_parallel;  // a MoE model's routed experts split over the tp ranks
  // Data-parallel attention (sim/serving/dp_attention.hpp): the tensor_parallel GPUs are as
  // many attention ranks, each running attention (tp 1) for its share of the batch with its
  // own KV, and the routed experts run expert-parallel over all of them.
  bool data_parallel_attention = false;
  /// The expert-parallel degree (1: off; each expert sharded over tp / degree ranks).
  std::int64_t expert_degree() const { return expert_parallel.over(tensor_parallel); }
};

struct Scenario {
  std::string name;
  std::string file;
  std::uint64_t seed = 1;
  LlmSpec model;
  GpuSpec gpu;
  Precision precision;
  std::unique_ptr<ComputeModel> compute;
  // The /compute node as given ({"type": "roofline"} when absent) under "compute", with the
  // scenario's file name and directory (for a profile path relative to it): compute_on reads it
  // again for another GPU. compute->to_json() cannot stand in for it (a calibrated model
  // writes its profile's internal name, not the path given, and drops "fallback").
  std::shared_ptr<const ConfigDocument> compute_given;
  EngineModel engine;  // "engine"; kernels-only when absent
  std::unique_ptr<net::Topology> topology;
  net::CollectiveConfig collectives;
  std::vector<net::BackgroundFlowSpec> background;
  double memory_utilization = 0.9;  // share of each GPU's HBM a prefill may use
  std::optional<PrefillSpec> prefill;
  std::optional<DecodeSpec> decode;
  std::vector<std::string> warnings;
  Json resolved;
  // A MoE model's routing: each expert's share of the tokens ("expert_load", drawn once from
  // the seed; models/llm/expert_load.hpp). Null for a dense model.
  std::shared_ptr<const std::vector<double>> expert_shares;

  /// Decomposition options for a layout of `tensor_parallel` GPUs whose routed experts are
  /// split over `expert_parallel` of them: the scenario's precision and expert shares.
  DecomposeOptions decompose_options(std::int64_t tensor_parallel,
                                     std::int64_t expert_parallel = 1) const;

  /// The /compute node as given, resolved for `gpu` (the scenario's own `compute` on `gpu`):
  /// what a disaggregated pool on another GPU type is priced by. Throws InputError where the
  /// given model cannot price `gpu` (a calibrated profile of another SM generation).
  std::unique_ptr<ComputeModel> compute_on(const GpuSpec& gpu) const;

  /// The setup a prefill strategy runs on (requires `prefill`).
  prefill::PrefillSetup prefill_setup() const;
  /// The usable bytes of each GPU: HBM x memory_utilization.
  prefill::MemoryCapacity memory_capacity() const;
};

Scenario load_scenario(const ConfigDocument& document);

}  // namespace kvsim
