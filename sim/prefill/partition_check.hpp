#pragma once
// Load-time checks of KV-Runahead partitioners against the chain they will split: the scenario
// loader calls this once the cluster and prefill are read, before anything runs.

#include <memory>
#include <string>
#include <vector>

#include "sim/prefill/prefill_strategy.hpp"

namespace kvsim::prefill {

/// Partitioner::check of every KV-Runahead strategy among `strategies` on `setup`: throws
/// InputError where a partitioner cannot split the chain (a granularity too coarse for the
/// context); returns the warnings (KVR-P off its trained ranges), each naming its entry.
std::vector<std::string> check_partitioners(
    const std::vector<std::unique_ptr<PrefillStrategy>>& strategies, const PrefillSetup& setup);

}  // namespace kvsim::prefill
