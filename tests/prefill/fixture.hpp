#pragma once
// A prefill setup built in code: model, roofline on an A100, and a topology the test chooses.

#include <limits>
#include <memory>

#include "models/catalog/catalog.hpp"
#include "models/compute/roofline.hpp"
#include "network/test_topologies.hpp"
#include "sim/prefill/prefill_strategy.hpp"

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

}  // namespace kvsim::prefill::testing
