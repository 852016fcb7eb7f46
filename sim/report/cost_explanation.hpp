#pragma once
// `kvsim run --explain-costs`: for each prefill strategy that ran, the per-GPU shard each of its
// processes runs (its queries and keys, its share of heads and weights) and its per-layer stage
// costs (qkv, attention, rest, communication), and the same for the decode step, so that a
// user can audit a TTFT or a step time number by number.
//
// The numbers are priced by the very calls the strategies make with the same arguments
// (prefill::stage_costs for single, TSP and KV-Runahead processes; prefill::price over the
// sharded layer for tp; net::collective_time with net::choose_protocol for TSP's all-gather and
// tp's all-reduce; net::message_time for KV-Runahead's messages), and the partition each run
// chose. Communication is the closed form alone on the network: a run whose flows share links
// takes longer, and the explanation says so. Called by tools/kvsim/cmd_run.cpp after the
// strategies ran. Units: Duration per layer (embedding and head once).

#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace kvsim::report {

struct ProcessShard {
  int gpu = 0;                   // topology GPU index
  std::int64_t queries = 0;      // tokens whose Q, K, V and layer outputs it computes
  std::int64_t first_token = 0;  // its first such token's position in the prompt
  std::int64_t keys = 0;         // keys its last query attends to
  std::string mask;              // "causal" or "dense"
  std::int64_t heads = 0;        // attention heads on this GPU
  std::int64_t kv_heads = 0;
  std::int64_t tensor_parallel = 1;  // it holds 1/tensor_parallel of each layer's weights
  Duration qkv{0};                   // per layer: input norm, QKV projection, rotary
  Duration attention{0};             // per layer
  Duration rest{0};                  // per layer: output projection, MLP, norms, residuals
  Duration communication{0};         // per layer: what it waits for or joins, closed form
  std::string communication_what;
};

struct StrategyCosts {
  std::string label;
  std::string how;  // how the stages make a layer, and which GPU emits the token
  Duration embedding{0};
  Duration head{0};  // final norm, LM head, sampling (once, on the last process)
  std::vector<ProcessShard> processes;
  std::vector<std::string> notes;
};

struct CostExplanation {
  std::vector<StrategyCosts> strategies;  // the prefill strategies in scenario order, then the
                                          // decode step when the scenario has one
  std::string text() const;
  Json json() const;
};

/// `results[i]` is the run of s.prefill->strategies[i] (its partition decides the shards).
/// The decode step is explained at `decode_tensor_parallel` (the first GPUs of the topology).
CostExplanation explain_costs(const Scenario& s,
                              const std::vector<prefill::PrefillResult>& results,
                              std::int64_t decode_tensor_parallel = 1);

}  // namespace kvsim::report
