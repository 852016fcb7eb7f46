#include "sim/scenario/registries.hpp"

#include "models/compute/builtin.hpp"
#include "sim/network/heterogeneity.hpp"
#include "sim/network/topologies.hpp"
#include "sim/prefill/builtin.hpp"
#include "sim/prefill/partitioner.hpp"

namespace kvsim {

std::vector<const RegistryView*> all_registries() {
  return {&net::topologies(), &net::heterogeneities(), &compute_models(),
          &prefill::strategies(), &prefill::partitioners()};
}

}  // namespace kvsim
