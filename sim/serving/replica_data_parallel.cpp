// Data-parallel attention ranks in a replica (see replica.hpp and dp_attention.hpp): each rank
// is a virtual engine with its own requests and KV memory; when the replica is free every rank
// plans a batch and the batches run as one iteration.
#include <algorithm>

#include "sim/serving/replica.hpp"

namespace kvsim::serving {

// Every rank with work plans its batch; the first rank's flight carries the iteration's time
// (the DpAttentionCost of all ranks' shapes) and the others ride with it, finishing with it.
// A rank that plans nothing while it holds requests can never free its own memory: stuck.
void Replica::launch_ranks() {
  rank_shapes_.resize(engines_.size());
  std::uint32_t lead = 0;
  bool any = false;
  Duration before{0};
  for (std::size_t i = 0; i < engines_.size(); ++i) {
    Engine& e = *engines_[i];
    rank_shapes_[i].clear();
    planned_.clear();
    c_.setup.scheduler->plan(e.state, planned_);
    if (planned_.empty()) {
      if (e.outstanding() > 0) stuck(e);
      continue;
    }
    check_limits(e);
    shape_batch(e, planned_);
    std::swap(rank_shapes_[i], shape_);
    before = std::max(before, swap_time(planned_));
    const std::uint32_t id = allocate();
    InFlight& f = flights_[id];
    f.tokens = rank_shapes_[i].tokens();
    f.riders.clear();
    std::swap(f.batch, planned_);
    f.engine = i;
    e.in_flight = true;
    if (any) {
      flights_[lead].riders.push_back(id);
    } else {
      lead = id;
      any = true;
    }
  }
  if (!any) return;
  InFlight& f = flights_[lead];
  f.before = c_.setup.host_overhead + before;
  f.data_parallel = (*c_.data_parallel)(rank_shapes_, stages_[0].gpus).total;
  stages_[0].queue.push_back(lead);
  start_stage(0);
}

}  // namespace kvsim::serving
