#include "sim/prefill/impl/synchronous.hpp"

#include "models/llm/moe_operations.hpp"

#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/impl/synchronous_run.hpp"
#include "sim/prefill/layer_plan.hpp"
#include "sim/prefill/process_run.hpp"
#include "sim/prefill/partitioner.hpp"
#include "sim/prefill/stage_costs.hpp"
#include "sim/prefill/two_level.hpp"

namespace kvsim::prefill {
namespace {

// Why `expert_parallel` cannot split `model`'s experts over `gpus` GPUs; empty when it can.
std::string expert_parallel_unsupported(const ExpertParallel& expert_parallel,
                                        const LlmSpec& model, std::int64_t gpus) {
  if (!expert_parallel.on()) return {};
  if (!model.moe.enabled()) {
    return fmt::format("expert_parallel needs a mixture-of-experts model, and {} is dense",
                       model.name);
  }
  const std::int64_t ep = expert_parallel.over(gpus);
  if (gpus % ep != 0) {
    return fmt::format("expert_parallel {} must divide the {} GPUs", ep, gpus);
  }
  if (model.moe.experts % ep != 0) {
    return fmt::format("expert_parallel splits the {} experts of {} over {} GPUs, which do not "
                       "divide them", model.moe.experts, model.name, ep);
  }
  return {};
}

// Expert parallelism after a block that ends at the router, in groups of `ep` consecutive
// ranks (each group holds every expert once): the dispatch all-to-all inside each group (the
// block before gains it), each rank's experts over its group's tokens routed to them, and the
// combine all-to-all. Each rank sends its own tokens' k copies of the hidden state, spread
// over its group (the all-to-all's send buffer), both ways. The all-to-alls run in every layer
// of the averaged layer; for a model with dense layers their bytes carry the MoE layers' share,
// as the expert operations do (Operation::layer_share).
void add_expert_blocks(const PrefillSetup& setup, const Partition& parts, std::int64_t ep,
                       std::vector<Block>& blocks) {
  const LlmSpec& m = *setup.model;
  const int p = static_cast<int>(setup.gpus.size());
  DecomposeOptions options = setup.options;
  options.expert_parallel = ep;
  const double share = static_cast<double>(m.moe.moe_layers(m.layers)) /
                       static_cast<double>(m.layers);
  const double bytes = static_cast<double>(setup.context_tokens) / p *
                       static_cast<double>(m.moe.experts_per_token * m.hidden_size) *
                       bytes_of(setup.options.precision.activations) * share;
  std::vector<std::vector<int>> groups(static_cast<std::size_t>(p / ep));
  std::vector<std::int64_t> group_tokens(groups.size(), 0);
  for (int r = 0; r < p; ++r) {
    groups[static_cast<std::size_t>(r / ep)].push_back(setup.gpus[static_cast<std::size_t>(r)]);
    group_tokens[static_cast<std::size_t>(r / ep)] += parts[static_cast<std::size_t>(r)];
  }
  Block& before = blocks.back();
  before.has_collective = true;
  before.kind = net::CollectiveKind::kAllToAll;
  before.bytes = bytes;
  before.collective_name = "all-to-all dispatch";
  before.lanes = groups;
  Block experts{"experts", {}, true, net::CollectiveKind::kAllToAll, bytes,
                "all-to-all combine", std::nullopt, groups};
  for (int r = 0; r < p; ++r) {
    experts.compute.push_back(price(
        setup, routed_expert_ops(m, group_tokens[static_cast<std::size_t>(r / ep)], options,
                                 static_cast<int>(r % ep))));
  }
  blocks.push_back(std::move(experts));
}

// One kind of tsp layer (`setup.model` every layer of that kind): the all-gather of K and V
// after the QKV projection, attention and the rest, and under expert parallelism (ep > 0 on a
// MoE kind) the routed experts between their all-to-alls. Each rank's costs go to `costs`.
std::vector<Block> tsp_layer(const PrefillSetup& setup, const Partition& parts, int tp,
                             bool causal_aware, std::int64_t ep, std::vector<StageCosts>& costs) {
  // Under a two-level layout each TP shard all-gathers its own heads' K and V on its lane.
  Block qkv{"qkv", {}, true, net::CollectiveKind::kAllGather,
            static_cast<double>(setup.context_tokens) * kv_bytes_per_token_layer(setup) / tp,
            "all-gather kv", std::nullopt, {}};
  Block rest{"attention+rest", {}, false, {}, 0, "", std::nullopt, {}};
  const bool experts = ep > 0 && setup.model->moe.enabled();
  std::int64_t prefix = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    prefix += parts[i];
    const int rank = static_cast<int>(i);
    const StageCosts c =
        causal_aware ? rank_stage_costs(setup, tp, rank, parts[i], prefix, Mask::kCausal)
                     : rank_stage_costs(setup, tp, rank, parts[i], setup.context_tokens,
                                        Mask::kDense);
    qkv.compute.push_back(c.qkv);
    rest.compute.push_back(c.attention + c.rest - (experts ? c.routed_experts : Duration{0}));
    costs.push_back(c);
  }
  std::vector<Block> blocks{qkv, rest};
  if (experts) add_expert_blocks(setup, parts, ep, blocks);  // tp is 1 (unsupported())
  return blocks;
}

}  // namespace

// Each kind of layer (dense or MoE, windowed or full: layer_plan.hpp) is priced as its own.
PrefillResult TspStrategy::run(const PrefillSetup& setup, bool record_trace) const {
  const int p = sequence_ranks(setup, tp_);
  const Partition parts = even_partition(setup.context_tokens, p);
  const LayerPlan plan = layer_plan(*setup.model);
  std::vector<std::vector<Block>> kinds;
  std::vector<StageCosts> costs;  // the first kind's, whose ends are every kind's
  for (const LlmSpec& kind : plan.kinds) {
    PrefillSetup k = setup;
    k.model = &kind;
    std::vector<StageCosts> kind_costs;
    kinds.push_back(tsp_layer(k, parts, tp_, causal_aware_,
                              expert_parallel_.on() ? expert_parallel(p) : 0, kind_costs));
    if (costs.empty()) costs = std::move(kind_costs);
  }
  std::vector<std::vector<int>> lanes;
  for (int k = 0; k < tp_; ++k) lanes.push_back(lane_gpus(setup, tp_, k));
  SynchronousRun run(setup, std::move(lanes), std::move(kinds), plan.of_layer,
                     costs.front().embedding, costs.back().head, record_trace);
  PrefillResult out = run.run();
  expand_rank_times(out, tp_);
  out.label = label();
  out.partition = parts;
  return out;
}

std::string TspStrategy::default_label() const {
  return std::string(causal_aware_ ? "tsp/causal" : "tsp") +
         (tp_ > 1 ? fmt::format("/tp{}", tp_) : "") + expert_parallel_.label();
}

std::string TspStrategy::unsupported(const LlmSpec& model, std::int64_t gpus) const {
  if (expert_parallel_.on() && tp_ > 1) {
    return "tsp with \"expert_parallel\" and \"tp\" > 1 is not modelled (the dispatch and "
           "combine all-to-alls would run per TP shard); use tp 1, or tp with expert_parallel";
  }
  if (std::string why = expert_parallel_unsupported(expert_parallel_, model, gpus);
      !why.empty()) {
    return why;
  }
  return two_level_obstacle(model, gpus, tp_, "tsp");
}

Json TspStrategy::to_json() const {
  Json j{{"type", "tsp"}, {"causal_aware", causal_aware_}};
  if (tp_ > 1) j["tp"] = tp_;
  if (expert_parallel_.on()) j["expert_parallel"] = expert_parallel_.to_json();
  return j;
}

std::string TpStrategy::default_label() const {
  return std::string(sequence_parallel_ ? "tp/sp" : "tp") + expert_parallel_.label();
}

std::string TpStrategy::unsupported(const LlmSpec& model, std::int64_t gpus) const {
  if (std::string why = expert_parallel_unsupported(expert_parallel_, model, gpus);
      !why.empty()) {
    return why;
  }
  if (model.heads % gpus == 0) return {};
  return fmt::format("tp shards the attention heads over the GPUs, and {} GPUs do not divide the "
                     "{} heads of {}; use a GPU count that divides {}, or tsp or kvr",
                     gpus, model.heads, model.name, model.heads);
}

namespace {

// One kind of tp layer (`model` every layer of that kind): the attention block up to the output
// projection and the MLP block, each ending in an all-reduce (reduce-scatter and all-gather
// under sequence parallelism; one block for a parallel-attention model).
std::vector<Block> tp_layer(const PrefillSetup& setup, const LlmSpec& model,
                            const DecomposeOptions& options, bool sequence_parallel) {
  const int p = static_cast<int>(setup.gpus.size());
  const std::int64_t c = setup.context_tokens;
  const auto ops = prefill_layer(model, PrefillChunk{c, c, Mask::kCausal}, options);
  // Split after the output projection: its partial sums are what the first all-reduce adds.
  std::vector<Operation> attention_block;
  std::vector<Operation> mlp_block;
  bool after_out_proj = false;
  for (const Operation& op : ops) {
    (after_out_proj ? mlp_block : attention_block).push_back(op);
    if (op.kind == OpKind::kOutProj) after_out_proj = true;
  }
  const double activation_bytes = static_cast<double>(c * model.hidden_size) *
                                  bytes_of(setup.options.precision.activations);
  // The engine's rank synchronisation, once per layer, before the layer's first block.
  const Duration attention_time = setup.engine->tp_layer_sync(p) + price(setup, attention_block);
  const Duration mlp_time = price(setup, mlp_block);
  // A custom all-reduce replaces NCCL's for messages up to its max_bytes (reduce-scatter and
  // all-gather under sequence parallelism stay NCCL's: custom all-reduces do not provide them).
  const std::optional<Duration> custom = setup.engine->custom_all_reduce(activation_bytes, p);
  std::vector<Block> blocks;
  const auto reduce = [&](const char* name, Duration d) {
    if (sequence_parallel) {
      blocks.push_back(Block{name, std::vector<Duration>(p, d), true,
                             net::CollectiveKind::kReduceScatter, activation_bytes,
                             "reduce-scatter", std::nullopt, {}});
      blocks.push_back(Block{"gather", std::vector<Duration>(p, Duration{0}), true,
                             net::CollectiveKind::kAllGather, activation_bytes, "all-gather",
                             std::nullopt, {}});
    } else {
      blocks.push_back(Block{name, std::vector<Duration>(p, d), true,
                             net::CollectiveKind::kAllReduce, activation_bytes,
                             custom ? "custom all-reduce" : "all-reduce", custom, {}});
    }
  };
  if (model.parallel_attention) {
    reduce("attention+mlp", attention_time + mlp_time);  // one all-reduce per parallel block
  } else {
    reduce("attention", attention_time);
    reduce("mlp", mlp_time);
  }
  return blocks;
}

}  // namespace

// Each kind of layer (dense or MoE, windowed or full: layer_plan.hpp) is priced as its own.
PrefillResult TpStrategy::run(const PrefillSetup& setup, bool record_trace) const {
  const int p = static_cast<int>(setup.gpus.size());
  DecomposeOptions options = setup.options;
  options.tensor_parallel = p;
  options.expert_parallel = expert_parallel(p);
  const std::int64_t c = setup.context_tokens;
  const LayerPlan plan = layer_plan(*setup.model);
  std::vector<std::vector<Block>> kinds;
  for (const LlmSpec& kind : plan.kinds) {
    kinds.push_back(tp_layer(setup, kind, options, sequence_parallel_));
  }
  const auto ends = model_ends(*setup.model, c, 1, options);
  SynchronousRun run(setup, {setup.gpus}, std::move(kinds), plan.of_layer,
                     pass_host(setup, c) + price(setup, std::span(ends).subspan(0, 1)),
                     price(setup, std::span(ends).subspan(1)), record_trace);
  PrefillResult out = run.run();
  out.label = label();
  return out;
}

Json TpStrategy::to_json() const {
  Json j{{"type", "tp"}, {"sequence_parallel", sequence_parallel_}};
  if (expert_parallel_.on()) j["expert_parallel"] = expert_parallel_.to_json();
  return j;
}

PrefillResult SingleStrategy::run(const PrefillSetup& setup, bool record_trace) const {
  PrefillSetup one = setup;
  one.gpus.resize(1);
  PrefillResult out = simulate_kvr(one, Partition{setup.context_tokens}, KvrOptions{},
                                   record_trace);
  out.label = label();
  out.partition.clear();
  return out;
}

}  // namespace kvsim::prefill

namespace kvsim::prefill {

PrefillResult IdealStrategy::run(const PrefillSetup& setup, bool /*record_trace*/) const {
  const std::int64_t c = setup.context_tokens;
  const auto p = static_cast<double>(setup.gpus.size());
  const StageCosts all = stage_costs(setup, c, c, Mask::kDense);
  const double layer = to_seconds(all.qkv + all.rest) / p +
                       to_seconds(all.attention) * (1 / p + 1 / (p * p)) / 2;
  PrefillResult out;
  out.label = label();
  out.ttft = all.embedding + all.head + from_seconds(layer * static_cast<double>(setup.model->layers));
  out.critical_compute = out.ttft;
  out.gpus.assign(setup.gpus.size(), GpuTime{out.ttft, Duration(0), Duration(0)});
  out.link_bytes.assign(setup.topology->links().size(), 0.0);
  return out;
}

}  // namespace kvsim::prefill
