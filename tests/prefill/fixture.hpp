#pragma once
// A prefill setup built in code: model, roofline on an A100, and a topology the test chooses.

#include <limits>
#include <memory>

#include "models/catalog/catalog.hpp"
#include "models/compute/roofline.hpp"
#include "network/test_topologies.hpp"
#include "sim/prefill/prefill_strategy.hpp"
#include "sim/prefill/stage_costs.hpp"

namespace kvsim::prefill::testing {

struct Fixture {
  LlmSpec model;
  std::unique_ptr<ComputeModel> compute;
  std::unique_ptr<net::Topology> topology;
  PrefillSetup setup;

  Fixture(const std::string& model_name, net::Topology t, std::int64_t context) {
    model = catalog::llm(model_name);
    compute = std::make_unique<RooflineModel>(catalog::gpu("a100-sxm4-80gb"),
                                              RooflineModel::Params{});
    topology = std::make_unique<net::Topology>(std::move(t));
    setup.model = &model;
    setup.compute = compute.get();
    setup.gpu_name = catalog::gpu("a100-sxm4-80gb").name;
    setup.context_tokens = context;
    setup.topology = topology.get();
    for (int g = 0; g < topology->gpu_count(); ++g) setup.gpus.push_back(g);
  }
};

/// p GPUs joined by links of infinite bandwidth and zero latency: communication is free.
inline net::Topology ideal_network(int p) {
  return net::testing::full_mesh(p, std::numeric_limits<double>::infinity(), Duration(0));
}

/// Tensor-parallel prefill of `tokens` on a free network in closed form: embedding + layers x
/// (attention block up to the output projection + MLP block) + final norm, LM head and
/// sampling, each block priced as the sharded operations `o` gives (the all-reduces cost nothing).
inline Duration tp_closed_form(const Fixture& f, const DecomposeOptions& o, std::int64_t tokens) {
  const auto ops = prefill_layer(f.model, PrefillChunk{tokens, tokens, Mask::kCausal}, o);
  std::vector<Operation> first;
  std::vector<Operation> second;
  bool split = false;
  for (const auto& op : ops) {
    (split ? second : first).push_back(op);
    if (op.kind == OpKind::kOutProj) split = true;
  }
  const auto ends = model_ends(f.model, tokens, 1, o);
  return price(*f.compute, std::span(ends).subspan(0, 1)) +
         f.model.layers * (price(*f.compute, first) + price(*f.compute, second)) +
         price(*f.compute, std::span(ends).subspan(1));
}

}  // namespace kvsim::prefill::testing
