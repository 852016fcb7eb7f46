#include "sim/prefill/partition_check.hpp"

#include "sim/prefill/impl/kvr.hpp"

namespace kvsim::prefill {

std::vector<std::string> check_partitioners(
    const std::vector<std::unique_ptr<PrefillStrategy>>& strategies, const PrefillSetup& setup) {
  std::vector<std::string> out;
  for (const auto& s : strategies) {
    const auto* kvr = dynamic_cast<const KvrStrategy*>(s.get());
    if (kvr == nullptr) continue;
    PartitionQuery q = kvr->query(setup);
    q.evaluate = nullptr;  // a check never simulates
    for (std::string& w : kvr->partitioner().check(q)) out.push_back(std::move(w));
  }
  return out;
}

}  // namespace kvsim::prefill
