#pragma once
// Per-layer stage durations of one process, priced once per run (layers are identical), so the
// event-driven strategies and the closed forms use the very same numbers. Every prefill
// strategy prices its kernels here, through the scenario's engine model (fusion, launch gaps,
// attention time scale), and the engine's host time of the process's pass is charged before
// its first kernel, in `embedding`.

#include "sim/prefill/prefill_strategy.hpp"

namespace kvsim::prefill {

struct StageCosts {
  Duration embedding{0};  // the engine's host time of the pass, then the embedding (layer 0)
  Duration qkv{0};        // input norm, QKV projection, rotary
  Duration attention{0};  // attention of the process's queries against its visible keys
  Duration rest{0};       // output projection, MLP, norms, residual adds
  Duration routed_experts{0};  // a MoE model's routed experts: the part of `rest` that expert
                               // parallelism moves (priced alone, so rest - it may differ by 1ns)
  Duration head{0};       // final norm, LM head on the last token, sampling (last process)
  // A model mixing dense and MoE layers (first_dense_layers, layer_step): `rest` of a dense and
  // of a MoE layer alone (`rest` is their mix by layer count, as every layer's average).
  bool mixed = false;
  Duration rest_dense{0};
  Duration rest_moe{0};

  /// The `rest` of layer `layer` (from 0) of `model`: its own kind's under a mix, else `rest`.
  /// Over all layers the kinds sum to layers x rest up to rounding to the nanosecond.
  Duration rest_of(const LlmSpec& model, std::int64_t layer) const {
    if (!mixed) return rest;
    return model.moe.is_moe_layer(layer) ? rest_moe : rest_dense;
  }
};

/// Costs of a process owning `q_tokens` queries that see `kv_tokens` keys under `mask`.
StageCosts stage_costs(const PrefillSetup& setup, std::int64_t q_tokens, std::int64_t kv_tokens,
                       Mask mask);

/// An op list of a prefill pass as the setup's engine runs it (used by tp, whose split differs).
Duration price(const PrefillSetup& setup, std::span<const Operation> ops);
/// An op list at the compute model's kernel time alone (the kernels-only engine).
Duration price(const ComputeModel& compute, std::span<const Operation> ops);

/// The engine's host time of one process's pass over `tokens` prompt tokens (one sequence).
Duration pass_host(const PrefillSetup& setup, std::int64_t tokens);

/// KV bytes of one token in one layer (what KV-Runahead and TSP move).
double kv_bytes_per_token_layer(const PrefillSetup& setup);

}  // namespace kvsim::prefill
