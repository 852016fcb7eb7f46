#pragma once
// How a mixture-of-experts router spreads tokens over the experts: the "expert_load" family,
// chosen by the scenario's "expert_load" object and drawn once from the scenario's seed.
//
// An implementation gives each expert a share of the routing (shares sum to 1). The operation
// decomposition (moe_operations.cpp) turns the shares into tokens per expert for a pass of T
// tokens, each routed to k distinct experts: expert e receives T x k x share_e tokens, capped at
// T (a token picks an expert at most once) with the excess spread over the others in proportion
// to their shares, rounded to integers by largest remainder (ties in bit-reversed expert order,
// so an even load's leftovers spread over the expert-parallel ranks) so the counts sum to
// T x k exactly. The same shares serve every MoE layer and every pass, so the
// busiest expert-parallel rank is the same in each layer: a straggler's worst case, not an
// average over layers whose hot experts differ.
//
// Who calls it: the scenario loader (once); the decomposition reads the shares through
// DecomposeOptions. Pure and deterministic: the same seed gives the same shares.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/core/random.hpp"
#include "sim/core/registry.hpp"

namespace kvsim {

struct ExpertLoad {
  Json config;                 // the resolved "expert_load" object
  std::vector<double> shares;  // per expert, summing to 1
};

using ExpertLoadRegistry = Registry<ExpertLoad, std::int64_t, const RandomStreams&>;
/// "uniform", "zipf", "dirichlet"; the factory's arguments: experts, the scenario's streams.
const ExpertLoadRegistry& expert_loads();

/// Tokens each expert receives when `tokens` tokens are each routed to `per_token` distinct
/// experts with these shares (see the header comment); sums to tokens x per_token.
std::vector<std::int64_t> expert_tokens(std::span<const double> shares, std::int64_t tokens,
                                        std::int64_t per_token);

}  // namespace kvsim
