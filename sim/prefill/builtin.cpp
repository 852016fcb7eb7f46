#include "sim/prefill/builtin.hpp"

#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/impl/synchronous.hpp"
#include "sim/prefill/partitioner.hpp"

namespace kvsim::prefill {
namespace {

std::unique_ptr<PrefillStrategy> make_kvr(const ConfigNode& n) {
  std::unique_ptr<Partitioner> partitioner;
  if (const auto p = n.find("partitioner")) {
    partitioner = partitioners().create(*p);
  } else {
    partitioner = partitioners().find("even")->make(n);
  }
  if (const auto ep = n.find("expert_parallel"); ep && ep->as_bool()) {
    ep->fail("kvr with expert parallelism is not modelled: each MoE layer would need every "
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
  return std::make_unique<KvrStrategy>(std::move(partitioner), o);
}

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
                      {"expert_parallel", "bool", "false",
                       "MoE models: split the routed experts over the GPUs, with dispatch and "
                       "combine all-to-alls around them in every layer (else every GPU holds "
                       "every expert)"}}),
          [](const ConfigNode& n) -> std::unique_ptr<PrefillStrategy> {
            return std::make_unique<TspStrategy>(n.boolean_or("causal_aware", false),
                                                 n.boolean_or("expert_parallel", false));
          });
    r.add("tp", "Megatron tensor parallelism: sharded weights, all-reduces every layer",
          with_label({{"sequence_parallel", "bool", "false",
                       "reduce-scatter + all-gather instead of all-reduce"},
                      {"expert_parallel", "bool", "false",
                       "MoE models: each GPU holds 1/p of the routed experts whole (else 1/p "
                       "of every expert); the MLP all-reduce combines their outputs"}}),
          [](const ConfigNode& n) -> std::unique_ptr<PrefillStrategy> {
            return std::make_unique<TpStrategy>(n.boolean_or("sequence_parallel", false),
                                                n.boolean_or("expert_parallel", false));
          });
    r.add("kvr", "KV-Runahead: a chain passing the growing KV cache, layer by layer, async",
          with_label({{"partitioner", "{type, ...}", "{\"type\": \"even\"}",
            "how the context is split (see `kvsim explain partitioner`)"},
           {"send", "before-attention|after-attention", "before-attention",
            "when a process forwards its KV prefix"},
           {"routing", "relay|direct", "relay",
            "relay the growing prefix, or send own KV to every later process"},
           {"network", "flows|closed-form", "flows",
            "simulate flows, or price messages in closed form (no contention; faster)"}}),
          make_kvr);
    return r;
  }();
  return registry;
}

}  // namespace kvsim::prefill
