#include "sim/report/cost_explanation.hpp"

#include <algorithm>
#include <span>

#include <fmt/format.h>

#include "sim/core/units.hpp"
#include "sim/prefill/stage_costs.hpp"
#include "sim/report/cost_lines.hpp"
#include "sim/serving/communication.hpp"

namespace kvsim::report {
namespace {

using prefill::PrefillSetup;
using prefill::StageCosts;

// A process that runs whole layers (single, TSP, KV-Runahead) on `queries` tokens from `first`.
ProcessShard whole_layers(const PrefillSetup& setup, int gpu, std::int64_t first,
                          std::int64_t queries, std::int64_t keys, Mask mask, StageCosts& c) {
  c = prefill::stage_costs(setup, queries, keys, mask);
  return ProcessShard{gpu, queries, first, keys, mask == Mask::kCausal ? "causal" : "dense",
                      setup.model->heads, setup.model->kv_heads, 1, c.qkv, c.attention, c.rest,
                      Duration{0}, ""};
}

// The closed-form time of a collective as the strategies' collective engine would pick it.
Duration collective(const PrefillSetup& setup, net::CollectiveKind kind, double bytes) {
  const net::Protocol& protocol =
      net::choose_protocol(*setup.topology, setup.gpus, kind, setup.collectives, bytes);
  return net::collective_time(*setup.topology, setup.gpus, kind, setup.collectives.algorithm,
                              bytes, protocol);
}

StrategyCosts single(const PrefillSetup& setup) {
  StrategyCosts out;
  StageCosts c;
  out.processes.push_back(whole_layers(setup, setup.gpus.front(), 0, setup.context_tokens,
                                       setup.context_tokens, Mask::kCausal, c));
  out.embedding = c.embedding;
  out.head = c.head;
  out.how = "one GPU: embedding, then per layer qkv + attention + rest, then the LM head";
  return out;
}

StrategyCosts tsp(const PrefillSetup& setup, const prefill::PrefillResult& r, bool causal) {
  StrategyCosts out;
  const double bytes =
      static_cast<double>(setup.context_tokens) * prefill::kv_bytes_per_token_layer(setup);
  const Duration gather = collective(setup, net::CollectiveKind::kAllGather, bytes);
  std::int64_t first = 0;
  StageCosts c;
  for (std::size_t i = 0; i < r.partition.size(); ++i) {
    const std::int64_t keys = causal ? first + r.partition[i] : setup.context_tokens;
    ProcessShard p = whole_layers(setup, setup.gpus[i], first, r.partition[i], keys,
                                  causal ? Mask::kCausal : Mask::kDense, c);
    p.communication = gather;
    p.communication_what = fmt::format("all-gather of K and V, {} over {} GPUs",
                                       format_bytes(bytes), setup.gpus.size());
    out.processes.push_back(std::move(p));
    if (i == 0) out.embedding = c.embedding;
    first += r.partition[i];
  }
  out.head = c.head;  // the last process's
  out.how = "per layer: every GPU's qkv, then the all-gather (it starts when the last GPU "
            "arrives), then attention + rest; the last GPU runs the LM head";
  return out;
}

// A layer's operations by stage (pre-attention, attention, post-attention) and by tp's blocks
// (up to the output projection, whose partial sums the first all-reduce adds; then the MLP).
struct LayerSplit {
  std::vector<Operation> stage[3];
  std::vector<Operation> block[2];
};

LayerSplit split(const std::vector<Operation>& ops) {
  LayerSplit out;
  bool after_out_proj = false;
  for (const Operation& op : ops) {
    out.stage[op.stage == LayerStage::kPreAttention ? 0
              : op.stage == LayerStage::kAttention  ? 1
                                                    : 2]
        .push_back(op);
    out.block[after_out_proj ? 1 : 0].push_back(op);
    if (op.kind == OpKind::kOutProj) after_out_proj = true;
  }
  return out;
}

// tp's sharded layer: the stages priced as tp prices its blocks (prefill::price over op lists).
StrategyCosts tp(const PrefillSetup& setup, bool sequence_parallel,
                 std::int64_t expert_parallel) {
  const auto p = static_cast<std::int64_t>(setup.gpus.size());
  DecomposeOptions options = setup.options;
  options.tensor_parallel = p;
  options.expert_parallel = expert_parallel;
  const std::int64_t c = setup.context_tokens;
  const auto ops = prefill_layer(*setup.model, PrefillChunk{c, c, Mask::kCausal}, options);
  const auto [stage, block] = split(ops);
  const double bytes = static_cast<double>(c * setup.model->hidden_size) *
                       bytes_of(setup.options.precision.activations);
  const Duration reduce =
      sequence_parallel ? collective(setup, net::CollectiveKind::kReduceScatter, bytes) +
                              collective(setup, net::CollectiveKind::kAllGather, bytes)
                        : collective(setup, net::CollectiveKind::kAllReduce, bytes);
  const int reductions = setup.model->parallel_attention ? 1 : 2;
  StrategyCosts out;
  for (std::int64_t g = 0; g < p; ++g) {
    const std::int64_t kv = setup.model->kv_heads >= p ? setup.model->kv_heads / p : 1;
    out.processes.push_back(ProcessShard{
        setup.gpus[static_cast<std::size_t>(g)], c, 0, c, "causal", setup.model->heads / p, kv,
        p, prefill::price(*setup.compute, stage[0]), prefill::price(*setup.compute, stage[1]),
        prefill::price(*setup.compute, stage[2]), reductions * reduce,
        fmt::format("{} x {} of {} over {} GPUs", reductions,
                    sequence_parallel ? "reduce-scatter + all-gather" : "all-reduce",
                    format_bytes(bytes), p)});
  }
  const auto ends = model_ends(*setup.model, c, 1, options);
  out.embedding = prefill::price(*setup.compute, std::span(ends).subspan(0, 1));
  out.head = prefill::price(*setup.compute, std::span(ends).subspan(1));
  out.how = "every GPU runs all tokens on 1/p of the heads and weights; per layer it runs them "
            "as blocks, each followed by the reduction";
  out.notes.push_back(fmt::format(
      "blocks as tp runs them: {}", setup.model->parallel_attention
          ? fmt::format("attention+MLP {:.3f} us", to_us(prefill::price(*setup.compute, ops)))
          : fmt::format("attention (norm to output projection) {:.3f} us, MLP {:.3f} us",
                        to_us(prefill::price(*setup.compute, block[0])),
                        to_us(prefill::price(*setup.compute, block[1])))));
  return out;
}

// KV-Runahead: process i computes c_i queries against S_i keys and, per layer, receives the
// prefix S_{i-1} from i-1 (relay) or each earlier process's own c_j (direct).
StrategyCosts kvr(const PrefillSetup& setup, const prefill::PrefillResult& r, bool relay) {
  StrategyCosts out;
  const double kv_token = prefill::kv_bytes_per_token_layer(setup);
  std::int64_t first = 0;
  StageCosts c;
  for (std::size_t i = 0; i < r.partition.size(); ++i) {
    const std::int64_t own = r.partition[i];
    ProcessShard p = whole_layers(setup, setup.gpus[i], first, own, first + own, Mask::kCausal, c);
    if (i > 0) {
      // The slowest message it waits for, alone on its route (direct: one per earlier process).
      std::int64_t sent_first = 0;
      for (std::size_t j = relay ? i - 1 : 0; j < i; ++j) {
        const std::int64_t tokens = relay ? first : r.partition[j];
        const double bytes = static_cast<double>(tokens) * kv_token;
        const net::Route& route = setup.topology->gpu_route(setup.gpus[j], setup.gpus[i]);
        p.communication = std::max(
            p.communication, net::message_time(route, bytes, setup.collectives.point_to_point));
        sent_first += tokens;
      }
      p.communication_what =
          relay ? fmt::format("receives the {}-token KV prefix ({}) from GPU {}", first,
                              format_bytes(static_cast<double>(first) * kv_token),
                              setup.gpus[i - 1])
                : fmt::format("receives {} messages, {} tokens of KV in all", i, sent_first);
    }
    out.processes.push_back(std::move(p));
    if (i == 0) out.embedding = c.embedding;
    first += own;
  }
  out.head = c.head;
  out.how = "per layer: qkv; wait for the previous process's KV; attention against every "
            "earlier token; rest. Processes run ahead of each other (no barrier); the last "
            "runs the LM head";
  return out;
}

// The decode step: one new token per request of the batch at the scenario's KV length, priced
// by stage like run's decode breakdown; under tensor parallelism, serving's all-reduce.
StrategyCosts decode(const Scenario& s, std::int64_t tp) {
  const DecomposeOptions options =
      s.decompose_options(tp, s.decode->expert_parallel.over(tp));
  const std::int64_t batch = s.decode->batch_size;
  const std::vector<std::int64_t> lengths(static_cast<std::size_t>(batch),
                                          s.decode->context_tokens);
  const LayerSplit parts = split(decode_layer(s.model, lengths, options));
  const auto& stage = parts.stage;
  StrategyCosts out;
  out.label = "decode step";
  const auto ends = model_ends(s.model, batch, batch, options);
  out.embedding = prefill::price(*s.compute, std::span(ends).subspan(0, 1));
  out.head = prefill::price(*s.compute, std::span(ends).subspan(1));
  std::vector<int> group(static_cast<std::size_t>(tp));
  for (std::int64_t g = 0; g < tp; ++g) group[static_cast<std::size_t>(g)] = static_cast<int>(g);
  Duration reduce{0};
  if (tp > 1) {
    EventQueue unused;  // closed form: no flows
    serving::Communication communication(s, false, unused);
    reduce = (s.model.parallel_attention ? 1 : 2) * communication.all_reduce(group, batch);
  }
  for (const int g : group) {
    out.processes.push_back(ProcessShard{
        g, batch, s.decode->context_tokens - 1, s.decode->context_tokens, "decode",
        s.model.heads / tp, s.model.kv_heads >= tp ? s.model.kv_heads / tp : 1, tp,
        prefill::price(*s.compute, stage[0]), prefill::price(*s.compute, stage[1]),
        prefill::price(*s.compute, stage[2]), reduce,
        tp > 1 ? "all-reduces of the batch's hidden states" : ""});
  }
  out.how = fmt::format("batch {}: one new token per request, each attending to {} KV tokens; "
                        "queries are the batch's new tokens", batch, s.decode->context_tokens);
  return out;
}

}  // namespace

CostExplanation explain_costs(const Scenario& s,
                              const std::vector<prefill::PrefillResult>& results,
                              std::int64_t decode_tensor_parallel) {
  CostExplanation out;
  if (s.prefill) {
    const PrefillSetup setup = s.prefill_setup();
    for (std::size_t i = 0; i < results.size(); ++i) {
      const Json how = s.prefill->strategies.at(i)->to_json();
      const std::string type = how.at("type").get<std::string>();
      StrategyCosts c;
      if (type == "single") {
        c = single(setup);
      } else if (type == "tsp" && how.contains("expert_parallel")) {
        c.how = "tsp with expert parallelism: no per-GPU breakdown yet (its per-layer blocks "
                "are qkv + all-gather, attention + rest without the routed experts + dispatch "
                "all-to-all, the experts + combine all-to-all; see README, Mixture of experts)";
      } else if (type == "tsp") {
        c = tsp(setup, results[i], how.at("causal_aware").get<bool>());
      } else if (type == "tp") {
        c = tp(setup, how.at("sequence_parallel").get<bool>(),
               s.prefill->strategies.at(i)->expert_parallel(
                   static_cast<std::int64_t>(setup.gpus.size())));
      } else if (type == "kvr") {
        c = kvr(setup, results[i], how.at("routing") == "relay");
      } else {
        c.how = fmt::format("no per-GPU explanation for strategy type '{}'", type);
        if (type == "ideal") c.how = "a bound in closed form (kvsim explain ideal), not a run";
      }
      c.label = results[i].label;
      out.strategies.push_back(std::move(c));
    }
  }
  if (s.decode) out.strategies.push_back(decode(s, decode_tensor_parallel));
  return out;
}

}  // namespace kvsim::report
