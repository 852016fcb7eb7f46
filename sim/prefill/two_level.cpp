#include "sim/prefill/two_level.hpp"

#include <fmt/format.h>

namespace kvsim::prefill {

std::string two_level_obstacle(const LlmSpec& model, std::int64_t gpus, std::int64_t tp,
                               const std::string& strategy) {
  if (tp == 1) return {};
  if (gpus % tp != 0) {
    return fmt::format("{} with \"tp\": {} makes sequence ranks of {} GPUs, and {} GPUs do not "
                       "divide into them; use a tp that divides {}",
                       strategy, tp, tp, gpus, gpus);
  }
  if (model.heads % tp != 0) {
    return fmt::format("{} with \"tp\": {} shards the attention heads over each rank's GPUs, and "
                       "{} does not divide the {} heads of {}; use a tp that divides {}",
                       strategy, tp, tp, model.heads, model.name, model.heads);
  }
  if (tp > model.kv_heads) {
    return fmt::format("{} with \"tp\": {} would split {}'s {} KV heads below one per GPU (each "
                       "GPU of a rank then holds a copy, which kvsim does not model); use a tp "
                       "of at most {}",
                       strategy, tp, model.name, model.kv_heads, model.kv_heads);
  }
  return {};
}

int sequence_ranks(const PrefillSetup& setup, int tp) {
  return static_cast<int>(setup.gpus.size()) / tp;
}

std::vector<int> rank_gpus(const PrefillSetup& setup, int tp, int rank) {
  const auto first = setup.gpus.begin() + static_cast<std::ptrdiff_t>(rank) * tp;
  return {first, first + tp};
}

std::vector<int> lane_gpus(const PrefillSetup& setup, int tp, int lane) {
  std::vector<int> out;
  for (int r = 0; r < sequence_ranks(setup, tp); ++r) out.push_back(setup.gpus[r * tp + lane]);
  return out;
}

PrefillSetup rank_setup(const PrefillSetup& setup, int tp) {
  PrefillSetup s = setup;
  s.options.tensor_parallel = tp;
  return s;
}

Duration tp_layer_collectives(const PrefillSetup& setup, int tp, int rank, std::int64_t tokens) {
  if (tp == 1) return Duration{0};
  const std::vector<int> gpus = rank_gpus(setup, tp, rank);
  const double bytes = static_cast<double>(tokens * setup.model->hidden_size) *
                       bytes_of(setup.options.precision.activations);
  Duration one{0};
  if (const auto custom = setup.engine->custom_all_reduce(bytes, tp)) {
    one = *custom;
  } else {
    const auto kind = net::CollectiveKind::kAllReduce;
    const net::Protocol& protocol =
        net::choose_protocol(*setup.topology, gpus, kind, setup.collectives, bytes);
    one = net::collective_time(*setup.topology, gpus, kind, setup.collectives.algorithm, bytes,
                               protocol);
  }
  const int reduces = setup.model->parallel_attention ? 1 : 2;
  return setup.engine->tp_layer_sync(tp) + one * reduces;
}

StageCosts rank_stage_costs(const PrefillSetup& setup, int tp, int rank, std::int64_t q_tokens,
                            std::int64_t kv_tokens, Mask mask) {
  if (tp == 1) return stage_costs(setup, q_tokens, kv_tokens, mask);
  StageCosts c = stage_costs(rank_setup(setup, tp), q_tokens, kv_tokens, mask);
  const Duration collectives = tp_layer_collectives(setup, tp, rank, q_tokens);
  c.rest += collectives;
  if (c.mixed) {
    c.rest_dense += collectives;
    c.rest_moe += collectives;
  }
  return c;
}

void expand_rank_times(PrefillResult& result, int tp) {
  if (tp == 1) return;
  std::vector<GpuTime> per_gpu;
  for (const GpuTime& t : result.gpus) per_gpu.insert(per_gpu.end(), static_cast<std::size_t>(tp), t);
  result.gpus = std::move(per_gpu);
}

void add_rank_memory(MemoryPlan& plan, const PrefillSetup& setup, int tp, int rank,
                     std::int64_t query_tokens, std::int64_t kv_tokens, double extra_bytes) {
  for (const int g : rank_gpus(setup, tp, rank)) {
    GpuMemory m = gpu_memory(setup, g, query_tokens, kv_tokens, tp);
    m.activations += extra_bytes;
    plan.gpus.push_back(m);
  }
}

int read_tp(const ConfigNode& node) {
  const std::int64_t tp = node.count_or("tp", 1);
  if (tp > 4096) node.at("tp").fail("at most 4096 GPUs per sequence rank");
  return static_cast<int>(tp);
}

}  // namespace kvsim::prefill
