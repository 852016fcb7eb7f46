// Each built-in strategy's per-GPU memory plan (PrefillStrategy::memory_plan): what a GPU
// holds when its share of the prefill peaks. The components come from gpu_memory(); here only
// which tokens, keys and weight shard each GPU has.
#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/impl/synchronous.hpp"
#include "sim/prefill/two_level.hpp"

namespace kvsim::prefill {
namespace {

// Whole weights on every GPU, an even share of the queries against every key: TSP all-gathers
// K and V, so each GPU ends with the full KV cache.
// `ep`: the GPUs a MoE model's routed experts are split over (1: every GPU holds them all).
MemoryPlan even_queries_all_keys(const PrefillSetup& setup, std::int64_t ep = 1) {
  const std::int64_t c = setup.context_tokens;
  const Partition share = even_partition(c, static_cast<int>(setup.gpus.size()));
  MemoryPlan plan;
  for (std::size_t i = 0; i < setup.gpus.size(); ++i) {
    plan.gpus.push_back(gpu_memory(setup, setup.gpus[i], share[i], c, 1, ep));
  }
  return plan;
}

}  // namespace

MemoryPlan SingleStrategy::memory_plan(const PrefillSetup& setup) const {
  const std::int64_t c = setup.context_tokens;
  return MemoryPlan{{gpu_memory(setup, setup.gpus.front(), c, c)}, false};
}

MemoryPlan IdealStrategy::memory_plan(const PrefillSetup& setup) const {
  return even_queries_all_keys(setup);
}

MemoryPlan TspStrategy::memory_plan(const PrefillSetup& setup) const {
  if (tp_ == 1) {
    return even_queries_all_keys(setup,
                                 expert_parallel(static_cast<std::int64_t>(setup.gpus.size())));
  }
  // Each rank's GPUs: an even share of the queries, every key of their heads.
  const std::int64_t c = setup.context_tokens;
  const Partition share = even_partition(c, sequence_ranks(setup, tp_));
  MemoryPlan plan;
  for (std::size_t r = 0; r < share.size(); ++r) {
    add_rank_memory(plan, setup, tp_, static_cast<int>(r), share[r], c);
  }
  return plan;
}

MemoryPlan TpStrategy::memory_plan(const PrefillSetup& setup) const {
  // Every rank sees all C tokens; weights, KV heads and attention heads are sharded p ways.
  const std::int64_t c = setup.context_tokens;
  const auto p = static_cast<std::int64_t>(setup.gpus.size());
  MemoryPlan plan;
  for (const int g : setup.gpus) {
    plan.gpus.push_back(gpu_memory(setup, g, c, c, p, expert_parallel(p)));
  }
  return plan;
}

MemoryPlan kvr_memory_plan(const PrefillSetup& setup, const Partition& partition, int tp) {
  MemoryPlan plan;
  std::int64_t prefix = 0;  // S_i: the tokens whose K and V process i holds
  for (std::size_t i = 0; i < partition.size(); ++i) {
    prefix += partition[i];
    add_rank_memory(plan, setup, tp, static_cast<int>(i), partition[i], prefix);
  }
  return plan;
}

MemoryPlan KvrStrategy::memory_plan(const PrefillSetup& setup) const {
  // Even and fixed splits are known without simulating; the search and the predictor (which
  // simulates its candidates) choose at run time, and memory_of_run checks their choice.
  const int tp = options_.tp;
  if (partitioner_->name() == "even" || partitioner_->name() == "fixed") {
    return kvr_memory_plan(setup, partitioner_->partition(query(setup)), tp);
  }
  // The least any partition needs: process i holds at least i + 1 tokens' K and V and computes
  // at least one token; the last holds the whole cache.
  const int p = sequence_ranks(setup, tp);
  MemoryPlan plan;
  plan.lower_bound = true;
  for (int i = 0; i < p; ++i) {
    const std::int64_t held = i + 1 == p ? setup.context_tokens : i + 1;
    add_rank_memory(plan, setup, tp, i, 1, held);
  }
  return plan;
}

MemoryPlan KvrStrategy::memory_of_run(const PrefillSetup& setup,
                                      const PrefillResult& result) const {
  return kvr_memory_plan(setup, result.partition, options_.tp);
}

}  // namespace kvsim::prefill
