#include "tools/api/registries.hpp"

#include "models/compute/builtin.hpp"
#include "models/engine/builtin.hpp"
#include "models/llm/expert_load.hpp"
#include "models/llm/spec_docs.hpp"
#include "sim/network/heterogeneity.hpp"
#include "sim/network/topologies.hpp"
#include "sim/prefill/builtin.hpp"
#include "sim/prefill/partitioner.hpp"
#include "sim/scenario/sections.hpp"
#include "sim/serving/disaggregation/global_scheduler.hpp"
#include "sim/serving/memory.hpp"
#include "sim/serving/router.hpp"
#include "sim/serving/scheduler.hpp"
#include "sim/serving/speculative/drafter.hpp"

namespace kvsim {

std::vector<const RegistryView*> all_registries() {
  std::vector<const RegistryView*> all{&net::topologies(),     &net::heterogeneities(),  &compute_models(),
          &engine_models(),       &prefill::strategies(),   &prefill::partitioners(),
          &serving::schedulers(), &serving::kv_memories(),  &serving::routers(),
          &serving::speculative::drafters(), &expert_loads(), &model_spec_docs(),
          &serving::disaggregation::global_schedulers()};
  for (const RegistryView* r : workload_families()) all.push_back(r);  // parsed without registry
  return all;
}

}  // namespace kvsim
