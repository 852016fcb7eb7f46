#include "sim/prefill/impl/synchronous.hpp"

#include "models/llm/moe_operations.hpp"

#include "sim/prefill/impl/kvr.hpp"
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

// One block of a layer: compute on every rank, then optionally a collective.
struct Block {
  const char* name;
  std::vector<Duration> compute;  // per rank
  bool has_collective = false;
  net::CollectiveKind kind{};
  double bytes = 0;  // collective buffer size
  const char* collective_name = "";
  // The engine's custom all-reduce: a fixed time in closed form instead of flows on the network.
  std::optional<Duration> closed_form;
  // The collective's lanes when not the run's (the expert-parallel groups' all-to-alls).
  std::vector<std::vector<int>> lanes;
};

// Runs `layers` repetitions of a list of blocks on all ranks. Ranks proceed independently
// through compute and meet at each collective (it starts when the last rank arrives). A
// collective runs on every lane at once (lanes[k]: the GPUs taking part, one per rank; one lane
// of every GPU for tp, one per TP shard for a two-level layout) and ends when all lanes have.
class SynchronousRun {
 public:
  SynchronousRun(const PrefillSetup& setup, std::vector<std::vector<int>> lanes,
                 std::vector<Block> blocks, Duration embedding, Duration head, bool record_trace)
      : setup_(setup),
        lanes_(std::move(lanes)),
        blocks_(std::move(blocks)),
        embedding_(embedding),
        head_(head),
        p_(static_cast<int>(lanes_.front().size())),
        run_(setup, p_, record_trace),
        position_(static_cast<std::size_t>(p_), 0) {}

  PrefillResult run() {
    for (int r = 0; r < p_; ++r) {
      run_.net.queue.schedule_at(SimTime{0}, Phase::kDecision, [this, r] {
        run_.compute(r, embedding_, Timeline::kNone, "embedding", -1, [this, r] { step(r); });
      });
    }
    return run_.run();
  }

 private:
  int total_steps() const {
    return static_cast<int>(setup_.model->layers) * static_cast<int>(blocks_.size());
  }

  // Rank r runs its next block's compute, then joins the block's collective.
  void step(int r) {
    const int s = position_[r];
    if (s == total_steps()) {
      finish(r);
      return;
    }
    const Block& b = blocks_[static_cast<std::size_t>(s) % blocks_.size()];
    const int layer = s / static_cast<int>(blocks_.size());
    const int after = run_.timeline.later(run_.last[r], collective_activity_);
    run_.compute(r, b.compute[r], after, b.name, layer, [this, r] { arrive(r); });
  }

  void arrive(int r) {
    const int s = position_[r]++;
    const Block& b = blocks_[static_cast<std::size_t>(s) % blocks_.size()];
    if (!b.has_collective) {
      step(r);
      return;
    }
    if (++arrived_ < p_) return;
    arrived_ = 0;
    collective_start_ = run_.net.queue.now();
    collective_after_ = run_.last[r];  // the last rank to arrive released the collective
    collective_layer_ = s / static_cast<int>(blocks_.size());
    collective_name_ = b.collective_name;
    if (b.closed_form) {
      run_.net.queue.schedule_in(*b.closed_form, Phase::kCompletion, [this] { released(); });
    } else {
      const auto& lanes = b.lanes.empty() ? lanes_ : b.lanes;
      lanes_left_ = static_cast<int>(lanes.size());
      for (const auto& lane : lanes) {
        run_.net.collectives.start(b.kind, lane, b.bytes, [this] {
          if (--lanes_left_ == 0) released();
        });
      }
    }
  }

  void released() {
    collective_activity_ = run_.timeline.communication(collective_start_, run_.net.queue.now(),
                                                   collective_after_, collective_name_,
                                                   collective_layer_);
    for (int r = 0; r < p_; ++r) step(r);
  }

  void finish(int r) {
    if (r != p_ - 1) return;  // the last part's GPU produces the first token
    const int after = run_.timeline.later(run_.last[r], collective_activity_);
    run_.compute(r, head_, after, "lm_head", -1, [this, r] {
      run_.first_token(r);
    });
  }

  const PrefillSetup& setup_;
  std::vector<std::vector<int>> lanes_;
  int lanes_left_ = 0;
  std::vector<Block> blocks_;
  Duration embedding_;
  Duration head_;
  int p_;
  ProcessRun run_;
  std::vector<int> position_;  // blocks completed per rank
  int arrived_ = 0;
  int collective_activity_ = Timeline::kNone;
  int collective_after_ = Timeline::kNone;
  SimTime collective_start_{0};
  int collective_layer_ = 0;
  const char* collective_name_ = "";
};

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

}  // namespace

PrefillResult TspStrategy::run(const PrefillSetup& setup, bool record_trace) const {
  const int p = sequence_ranks(setup, tp_);
  const Partition parts = even_partition(setup.context_tokens, p);
  // Under a two-level layout each TP shard all-gathers its own heads' K and V on its lane.
  Block qkv{"qkv", {}, true, net::CollectiveKind::kAllGather,
            static_cast<double>(setup.context_tokens) * kv_bytes_per_token_layer(setup) / tp_,
            "all-gather kv", std::nullopt, {}};
  Block rest{"attention+rest", {}, false, {}, 0, "", std::nullopt, {}};
  std::vector<StageCosts> costs;
  std::int64_t prefix = 0;
  for (int i = 0; i < p; ++i) {
    prefix += parts[i];
    const StageCosts c =
        causal_aware_ ? rank_stage_costs(setup, tp_, i, parts[i], prefix, Mask::kCausal)
                      : rank_stage_costs(setup, tp_, i, parts[i], setup.context_tokens, Mask::kDense);
    qkv.compute.push_back(c.qkv);
    rest.compute.push_back(c.attention + c.rest - (expert_parallel_.on() ? c.routed_experts
                                                                         : Duration{0}));
    costs.push_back(c);
  }
  std::vector<Block> blocks{qkv, rest};
  if (expert_parallel_.on()) {  // tp_ is 1 (unsupported())
    add_expert_blocks(setup, parts, expert_parallel(p), blocks);
  }
  std::vector<std::vector<int>> lanes;
  for (int k = 0; k < tp_; ++k) lanes.push_back(lane_gpus(setup, tp_, k));
  SynchronousRun run(setup, std::move(lanes), std::move(blocks), costs.front().embedding,
                     costs.back().head, record_trace);
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

PrefillResult TpStrategy::run(const PrefillSetup& setup, bool record_trace) const {
  const int p = static_cast<int>(setup.gpus.size());
  DecomposeOptions options = setup.options;
  options.tensor_parallel = p;
  options.expert_parallel = expert_parallel(p);
  const std::int64_t c = setup.context_tokens;
  const auto ops = prefill_layer(*setup.model, PrefillChunk{c, c, Mask::kCausal}, options);
  // Split after the output projection: its partial sums are what the first all-reduce adds.
  std::vector<Operation> attention_block;
  std::vector<Operation> mlp_block;
  bool after_out_proj = false;
  for (const Operation& op : ops) {
    (after_out_proj ? mlp_block : attention_block).push_back(op);
    if (op.kind == OpKind::kOutProj) after_out_proj = true;
  }
  const double activation_bytes = static_cast<double>(c * setup.model->hidden_size) *
                                  bytes_of(setup.options.precision.activations);
  // The engine's rank synchronisation, once per layer, before the layer's first block.
  const Duration attention_time = setup.engine->tp_layer_sync(p) + price(setup, attention_block);
  const Duration mlp_time = price(setup, mlp_block);
  // A custom all-reduce replaces NCCL's for messages up to its max_bytes (reduce-scatter and
  // all-gather under sequence parallelism stay NCCL's: custom all-reduces do not provide them).
  const std::optional<Duration> custom = setup.engine->custom_all_reduce(activation_bytes, p);
  std::vector<Block> blocks;
  const auto reduce = [&](const char* name, Duration d) {
    if (sequence_parallel_) {
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
  if (setup.model->parallel_attention) {
    reduce("attention+mlp", attention_time + mlp_time);  // one all-reduce per parallel block
  } else {
    reduce("attention", attention_time);
    reduce("mlp", mlp_time);
  }
  const auto ends = model_ends(*setup.model, c, 1, options);
  SynchronousRun run(setup, {setup.gpus}, std::move(blocks),
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
