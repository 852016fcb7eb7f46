#pragma once
// Screening a candidate layout before any simulation: the plan's constraints, a layout serving
// refuses (tensor parallelism that does not divide the heads, ...), one that cannot hold the
// model and the longest request's KV cache, and one whose analytic throughput bound cannot
// reach the target rate. What survives is simulated (evaluation.hpp).
//
// The throughput bound (requests/s) is an optimistic roofline over the workload's mean token
// counts, so that no layout that could reach the rate is pruned:
//   compute:   rate <= replicas x tp x pp x peak FLOP/s / (2 x active parameters x (P + O))
//   bandwidth: each iteration of a stage reads its weights once, and carries at most
//              max_batch_size decodes: rate <= replicas x max_batch x tp x pp x HBM B/s /
//              (weight bytes x active share x (O - 1))
// with P and O the mean prompt and output tokens per request (attention and KV reads only add
// work, so leaving them out keeps the bound an upper bound).
// With a drafter of k tokens a decode step emits at most k + 1 tokens, so the bandwidth bound is
// k + 1 times the above. Disaggregated candidates are screened by screen_pools
// (screening_pools.hpp).
// Who calls it: run_plan (plan.hpp). Pure: the same plan and candidate give the same answer.

#include <string>
#include <vector>

#include "sim/plan/candidates.hpp"

namespace kvsim::plan {

/// The workload's mean token counts and longest request, streamed once from the plan's seed.
struct WorkloadStats {
  double mean_prompt = 0;       // tokens
  double mean_output = 0;       // tokens
  std::int64_t longest = 0;     // prompt + output tokens of the longest request
  std::int64_t longest_prompt = 0;  // tokens of the longest prompt (a prefill pool holds it)
  std::uint64_t requests = 0;
};

WorkloadStats workload_stats(const PlanSpec& spec);

struct Screening {
  std::string pruned_kind;  // empty: simulate; "constraint", "layout", "memory", "throughput"
  std::string reason;       // why it was pruned
  double rate_bound = 0;    // requests/s, the analytic bound (0 when pruned before it)
  std::string bound_by;     // "compute" or "memory bandwidth"
  std::int64_t kv_tokens_per_stage = 0;
  std::vector<std::string> warnings;  // the layout's scenario warnings

  bool pruned() const { return !pruned_kind.empty(); }
};

Screening screen(const PlanSpec& spec, const WorkloadStats& stats, const Candidate& c);

}  // namespace kvsim::plan
