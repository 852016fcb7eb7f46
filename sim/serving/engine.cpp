// simulate_serving: routing to replicas, the timeline, and the run's totals and warnings; the
// arrivals, rejection of those past the model's context and the closed-loop client's limit are
// the arrival step it shares with the disaggregated run (arrival_step.hpp). The replicas
// themselves live in replica.hpp.
#include "sim/serving/engine.hpp"

#include <functional>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/core/event_queue.hpp"
#include "sim/core/input_error.hpp"
#include "sim/serving/arrival_step.hpp"
#include "sim/serving/communication.hpp"
#include "sim/serving/disaggregation/disaggregated_run.hpp"
#include "sim/serving/dp_attention.hpp"
#include "sim/serving/iteration_cost.hpp"
#include "sim/serving/replica.hpp"
#include "sim/serving/speculative/speculation.hpp"

namespace kvsim::serving {
namespace {

// One simulate_serving call: the event queue, the replicas, and the request stream feeding
// them (the arrival step, arrival_step.hpp).
class ServingRun {
 public:
  ServingRun(const Scenario& s, ServingSetup& setup, Workload& workload,
             const ServingObservers& observers)
      : s_(s),
        setup_(setup),
        workload_(workload),
        observers_(observers),
        cost_(s, setup.tensor_parallel, setup.expert_degree()),
        communication_(s, setup, queue_),
        arrivals_(s, workload, queue_, totals_, [this](const Request& r) { send(r); }),
        context_{s,         setup,          queue_,
                 totals_,   cost_,          communication_,
                 observers, workload,       workload.total(),
                 [this] { arrivals_.client_finished(); }, nullptr} {
    if (setup.data_parallel_attention) {
      data_parallel_.emplace(s, setup.tensor_parallel);
      context_.data_parallel = &*data_parallel_;
    }
    make_replicas();
  }

  ServingResult run() {
    arrivals_.start();
    start_timeline();
    queue_.run();
    arrivals_.check_all_served();
    return result();
  }

 private:
  // The replicas take their KV memories (one per pipeline stage, or per data-parallel
  // attention rank) out of the setup.
  void make_replicas() {
    const int engines = setup_.engines_per_replica();
    for (int r = 0; r < setup_.replicas; ++r) {
      std::vector<std::unique_ptr<KvMemory>> memories;
      for (int e = 0; e < engines; ++e) {
        memories.push_back(std::move(setup_.memories[r * engines + e]));
      }
      replicas_.push_back(std::make_unique<Replica>(context_, r, std::move(memories)));
    }
    setup_.memories.clear();  // the replicas own them now
    loads_.resize(replicas_.size());
  }

  // To the replica the router picks from every replica's load now.
  void send(const Request& r) {
    if (setup_.router->reads_kv()) {
      for (std::size_t i = 0; i < replicas_.size(); ++i) loads_[i] = replicas_[i]->load();
    } else {
      for (std::size_t i = 0; i < replicas_.size(); ++i) {
        loads_[i].outstanding = replicas_[i]->outstanding();
      }
    }
    replicas_[setup_.router->route(loads_)]->arrive(r);
  }

  // Timeline samples every interval from the first arrival. A sample reads the state at the
  // end of its instant, after the schedulers' decisions.
  void start_timeline() {
    if (!observers_.timeline || workload_.total() == 0) return;
    if (observers_.timeline_interval <= Duration{0}) {
      throw std::logic_error("serving timeline: the interval must be positive");
    }
    queue_.schedule_at(arrivals_.first_arrival(), Phase::kObserve, [this] { sample(); });
  }
  void sample() {
    queue_.at_end_of_instant([this] { take_sample(); });
    queue_.schedule_in(observers_.timeline_interval, Phase::kObserve, [this] { sample(); });
  }
  // Timeline rows are bounded, so a tiny interval over a long run cannot fill the disk.
  void take_sample() {
    if (++samples_ > kMaxTimelineSamples) {
      throw InputError("--timeline-interval", "",
                       fmt::format("the timeline would pass {} samples (kMaxTimelineSamples in "
                                   "sim/serving/engine.hpp) before the run ends; use a longer "
                                   "interval",
                                   kMaxTimelineSamples));
    }
    const double now = to_seconds(queue_.now() - SimTime{0});
    for (const auto& replica : replicas_) observers_.timeline(replica->sample(now));
  }

  ServingResult result() const {
    std::uint64_t preemptions = 0, swaps = 0;
    for (const auto& r : replicas_) {
      preemptions += r->preemptions();
      swaps += r->swaps();
    }
    ServingResult out;
    out.summary = totals_.summary({to_seconds(queue_.now() - arrivals_.first_arrival()),
                                   setup_.replicas,
                                   setup_.pipeline_parallel, replicas_.front()->capacity(),
                                   preemptions, swaps, queue_.executed()});
    out.summary["config"] = setup_.resolved;
    out.summary["warnings"] = arrivals_.warnings();
    if (setup_.speculation) out.summary["speculative"] = setup_.speculation->summary();
    return out;
  }

  const Scenario& s_;
  ServingSetup& setup_;
  Workload& workload_;
  const ServingObservers& observers_;
  EventQueue queue_;
  Totals totals_;
  IterationCost cost_;
  std::optional<DpAttentionCost> data_parallel_;  // with "data_parallel_attention"
  Communication communication_;
  ArrivalStep arrivals_;
  ReplicaContext context_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::vector<ReplicaLoad> loads_;
  std::uint64_t samples_ = 0;
};

}  // namespace

ServingResult simulate_serving(const Scenario& s, ServingSetup& setup, Workload workload,
                               const ServingObservers& observers) {
  if (setup.disaggregation) {
    return disaggregation::simulate_disaggregated(s, setup, std::move(workload), observers);
  }
  return ServingRun(s, setup, workload, observers).run();
}

}  // namespace kvsim::serving
