#pragma once
// Per-layer stage durations of one process, priced once per run (layers are identical), so the
// event-driven strategies and the closed forms use the very same numbers.

#include "sim/prefill/prefill_strategy.hpp"

namespace kvsim::prefill {

struct StageCosts {
  Duration embedding{0};  // before layer 0
  Duration qkv{0};        // input norm, QKV projection, rotary
  Duration attention{0};  // attention of the process's queries against its visible keys
  Duration rest{0};       // output projection, MLP, norms, residual adds
  Duration head{0};       // final norm, LM head on the last token, sampling (last process)
};

/// Costs of a process owning `q_tokens` queries that see `kv_tokens` keys under `mask`.
StageCosts stage_costs(const PrefillSetup& setup, std::int64_t q_tokens, std::int64_t kv_tokens,
                       Mask mask);

/// Durations by stage for arbitrary op lists (used by tp, whose split differs).
Duration price(const ComputeModel& compute, std::span<const Operation> ops);

/// KV bytes of one token in one layer (what KV-Runahead and TSP move).
double kv_bytes_per_token_layer(const PrefillSetup& setup);

}  // namespace kvsim::prefill
