#pragma once
// kvsim run's decode step with speculative decoding: the scenario's "decode" batch (every
// sequence at the same context) drafting k tokens with the decode section's "drafter", then
// one verify pass of the target, against the same step without speculation.
//
// Expected tokens per step E = sum_{i=0..k} prod_{j<=i} a_j ((1 - a^(k+1)) / (1 - a) at a fixed
// rate; acceptance.hpp), and TPOT = (draft passes + verify pass) / E, the expected walltime per
// token of Leviathan et al. (ICML 2023), Theorem 3.8, with the verify pass priced as what it is
// (k + 1 tokens per sequence) rather than assumed to cost one plain step. Their expression,
// E / (k c + 1) with c = one draft pass / one plain step, is reported beside it.
//
// Who calls it: tools/kvsim/cmd_run.cpp. Units: Duration (ns); seconds in the doubles.

#include <optional>
#include <string>

#include "sim/scenario/scenario.hpp"
#include "sim/serving/speculative/drafter.hpp"

namespace kvsim::serving::speculative {

struct SpeculativeStep {
  Duration plain{0};   // the decode step without speculation (as serving::decode_step)
  Duration draft{0};   // the k draft passes
  Duration verify{0};  // the target's pass over each sequence's verified tokens
  std::int64_t verify_tokens = 1;  // per sequence
  double tokens_per_step = 1;      // expected, per sequence
  double tpot_s = 0;               // (draft + verify) / tokens_per_step
  double speedup = 1;              // plain / TPOT
  double leviathan_speedup = 1;    // E / (k c + 1), c = (draft / k) / plain
};

/// Requires s.decode with pipeline_parallel 1 (the caller refuses others at /decode/drafter).
SpeculativeStep speculative_step(const Scenario& s, const Drafter& drafter);

/// The decode section's "drafter" as the scenario read it (in s.resolved), or null.
const Json* decode_drafter_json(const Scenario& s);
/// The decode section's drafter, built and checked (InputError at /decode/drafter); requires
/// decode_drafter_json(s).
std::unique_ptr<Drafter> decode_drafter(const Scenario& s);

Json to_json(const SpeculativeStep& step);

/// A warning when the decode step's fullest GPU fits the target's weights and KV (else the
/// scenario already warns) but not with the drafter's weights and KV beside them; nothing
/// otherwise.
std::optional<std::string> drafter_memory_warning(const Scenario& s, const Drafter& drafter);

}  // namespace kvsim::serving::speculative
