#include "sim/prefill/builtin.hpp"

#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/impl/ring.hpp"
#include "sim/prefill/impl/synchronous.hpp"
#include "sim/prefill/partitioner.hpp"
#include "sim/prefill/two_level.hpp"

namespace kvsim::prefill {
namespace {

std::unique_ptr<PrefillStrategy> make_kvr(const ConfigNode& n) {
  std::unique_ptr<Partitioner> partitioner;
  if (const auto p = n.find("partitioner")) {
    partitioner = partitioners().create(*p);
  } else {
    partitioner = partitioners().find("even")->make(n);
  }
  if (read_expert_parallel(n, "expert_parallel").on()) {
    n.at("expert_parallel").fail("kvr with expert parallelism is not modelled: each MoE layer would need every "
             "process's tokens at every expert's GPU (an all-to-all among the chain), which "
             "undoes KV-Runahead's run-ahead; kvr runs MoE models with every expert on every "
             "GPU, and tp and tsp take \"expert_parallel\"");
  }
  KvrOptions o;
  o.send_before_attention =
      n.one_of_or("send", "before-attention", {"before-attention", "after-attention"}) ==
      "before-attention";
  o.relay = n.one_of_or("routing", "relay", {"relay", "direct"}) == "relay";
  o.closed_form_network = n.one_of_or("network", "flows", {"flows", "closed-form"}) ==
                          "closed-form";
  if (o.closed_form_network && !o.relay) {
    n.at("network").fail("the closed-form network needs \"routing\": \"relay\"");
  }
  o.tp = read_tp(n);
  if (o.tp > 1 && partitioner->name() == "predicted") {
    n.at("tp").fail("KVR-P's predictors are trained on chains of single GPUs; with \"tp\" > 1 "
                    "use the even, search or fixed partitioner");
  }
  return std::make_unique<KvrStrategy>(std::move(partitioner), o);
}

std::unique_ptr<PrefillStrategy> make_ring(const ConfigNode& n) {
  RingOptions o;
  const std::string variant = n.one_of_or("variant", "pass-kv", {"pass-kv", "pass-q", "auto"});
  o.variant = variant == "pass-kv"  ? RingVariant::kPassKv
              : variant == "pass-q" ? RingVariant::kPassQ
                                    : RingVariant::kAuto;
  o.sharding = n.one_of_or("sharding", "load-balanced", {"load-balanced", "contiguous"}) ==
                       "load-balanced"
                   ? RingSharding::kLoadBalanced
                   : RingSharding::kContiguous;
  o.tp = read_tp(n);
  o.cached_share = n.number_or("cached_share", 0.0, 0.0, 1.0);
  if (o.cached_share >= 1.0) {
    n.at("cached_share").fail("a share below 1: at least one token of the prompt must be new");
  }
  return std::make_unique<RingStrategy>(o);
}

// Two-level layouts (two_level.hpp): tsp, kvr and ring take it.
const ParamDoc kTpParam{
    "tp", "count", "1",
    "GPUs per sequence rank: each rank is a tensor-parallel group of tp consecutive GPUs "
    "(TP inside, the sequence split across ranks; messages split by head over tp lanes; TP "
    "all-reduces priced in closed form); tp must divide the GPUs and the heads, at most the KV "
    "heads"};

// Every strategy takes a "label" (read by the scenario loader, which refuses duplicates).
std::vector<ParamDoc> with_label(std::vector<ParamDoc> params) {
  params.push_back({"label", "string", "tsp, tp/sp, kvr/<partitioner>, ...",
                    "what reports and sweep columns call this entry; unique per scenario"});
  return params;
}

}  // namespace

const StrategyRegistry& strategies() {
  static const StrategyRegistry registry = [] {
    StrategyRegistry r("prefill strategy", "how one prompt's prefill is spread over GPUs");
    r.add("single", "all layers on one GPU (the first of the GPUs)", with_label({}),
          [](const ConfigNode&) -> std::unique_ptr<PrefillStrategy> {
            return std::make_unique<SingleStrategy>();
          });
    r.add("ideal",
          "the paper's lower bound for splitting the context (tsp, kvr): linear work / p plus "
          "a(C^2/2)(1/p + 1/p^2) attention, no communication; tp splits heads instead and can "
          "beat it on few GPUs",
          with_label({}),
          [](const ConfigNode&) -> std::unique_ptr<PrefillStrategy> {
            return std::make_unique<IdealStrategy>();
          });
    r.add("tsp",
          "KV-Runahead's baseline: even split, K and V all-gathered every layer, dense "
          "(C/p) x C attention",
          with_label({{"causal_aware", "bool", "false",
                       "skip the masked part of the attention rectangle"},
                      kTpParam,
                      {"expert_parallel", "bool|count", "false",
                       "MoE models: split the routed experts over the GPUs (true) or over "
                       "groups of that many consecutive GPUs (a count dividing the GPUs and the "
                       "experts; each group holds every expert once), with dispatch and combine "
                       "all-to-alls inside each group in every layer (else every GPU holds "
                       "every expert); not with \"tp\" > 1"}}),
          [](const ConfigNode& n) -> std::unique_ptr<PrefillStrategy> {
            return std::make_unique<TspStrategy>(n.boolean_or("causal_aware", false),
                                                 read_tp(n),
                                                 read_expert_parallel(n, "expert_parallel"));
          });
    r.add("tp", "Megatron tensor parallelism: sharded weights, all-reduces every layer",
          with_label({{"sequence_parallel", "bool", "false",
                       "reduce-scatter + all-gather instead of all-reduce"},
                      {"expert_parallel", "bool|count", "false",
                       "MoE models: each GPU holds 1/p of the routed experts whole (true), or "
                       "the experts split over that many ranks of p / count GPUs each, every "
                       "expert sharded over its rank's GPUs (expert-TP; a count dividing the "
                       "GPUs and the experts); else 1/p of every expert; the MLP all-reduce "
                       "combines their outputs"}}),
          [](const ConfigNode& n) -> std::unique_ptr<PrefillStrategy> {
            return std::make_unique<TpStrategy>(n.boolean_or("sequence_parallel", false),
                                                read_expert_parallel(n, "expert_parallel"));
          });
    r.add("kvr", "KV-Runahead: a chain passing the growing KV cache, layer by layer, async",
          with_label({{"partitioner", "{type, ...}", "{\"type\": \"even\"}",
            "how the context is split (see `kvsim explain partitioner`)"},
           {"send", "before-attention|after-attention", "before-attention",
            "when a process forwards its KV prefix"},
           {"routing", "relay|direct", "relay",
            "relay the growing prefix, or send own KV to every later process"},
           {"network", "flows|closed-form", "flows",
            "simulate flows, or price messages in closed form (no contention; faster)"},
           kTpParam}),
          make_kvr);
    r.add("ring",
          "ring attention (context parallelism): each rank keeps its query shard and passes K/V "
          "(or Q) blocks around a ring, each step's transfer overlapped with the attention it "
          "can already compute; the merge of partial outputs is priced",
          with_label({{"variant", "pass-kv|pass-q|auto", "pass-kv",
                       "pass K/V blocks; pass Q blocks and return partial outputs with an "
                       "all-to-all; or auto: pass-q when its message is smaller, new x heads < "
                       "2 x prompt x kv_heads (Yang et al. 2024)"},
                      {"sharding", "load-balanced|contiguous", "load-balanced",
                       "2N chunks, rank r owning chunks r and 2N-1-r (equal causal work); or N "
                       "contiguous chunks"},
                      {"cached_share", "ratio", "0",
                       "share of the prompt whose K/V is already cached (a multi-turn prefix, "
                       "split evenly over the ranks, seen densely by every new query); below 1"},
                      kTpParam}),
          make_ring);
    return r;
  }();
  return registry;
}

}  // namespace kvsim::prefill
