// simulate_serving: the requests' arrivals, rejection of those past the model's context, the
// closed-loop client's limit, routing to replicas, the timeline, and the run's totals and
// warnings. The replicas themselves live in replica.hpp.
#include "sim/serving/engine.hpp"

#include <functional>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/core/event_queue.hpp"
#include "sim/core/input_error.hpp"
#include "sim/serving/arrival_times.hpp"
#include "sim/serving/communication.hpp"
#include "sim/serving/disaggregation/disaggregated_run.hpp"
#include "sim/serving/dp_attention.hpp"
#include "sim/serving/iteration_cost.hpp"
#include "sim/serving/replica.hpp"
#include "sim/serving/speculative/speculation.hpp"

namespace kvsim::serving {
namespace {

// The scenario's warnings, then the requests the run did not serve as asked.
Json warnings(const Scenario& s, const Workload& workload, const Totals& t,
              const std::optional<Request>& rejected, const std::optional<Request>& truncated) {
  Json out = Json::array();
  for (const std::string& w : s.warnings) out.push_back(w);
  if (rejected) {
    out.push_back(fmt::format(
        "{} of {} requests were rejected, not served: their prompt + output exceeds {}'s "
        "{}-token context (vLLM answers such requests with an error); the first was {}: {} + {} "
        "tokens. Latency and throughput count only the {} served; set lengths.max_tokens to "
        "truncate long requests instead",
        t.rejected, workload.total(), s.model.name, s.model.max_context,
        workload.describe(*rejected), rejected->prompt, rejected->output, t.completed));
  }
  if (truncated) {
    out.push_back(fmt::format(
        "{} of {} requests were truncated to lengths.max_tokens, {} tokens of prompt + output; "
        "the first was {}",
        t.truncated, workload.total(), workload.max_tokens(), workload.describe(*truncated)));
  }
  return out;
}

// One simulate_serving call: the event queue, the replicas, and the request stream feeding
// them. One arrival is pending at a time: the next is drawn when the current one arrives, so
// the workload is never held in memory.
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
        client_(workload.max_concurrency()),
        context_{s,         setup,          queue_,
                 totals_,   cost_,          communication_,
                 observers, workload,       workload.total(),
                 [this] { client_finished(); }, nullptr} {
    if (setup.data_parallel_attention) {
      data_parallel_.emplace(s, setup.tensor_parallel);
      context_.data_parallel = &*data_parallel_;
    }
    make_replicas();
  }

  ServingResult run() {
    start_arrivals();
    start_timeline();
    queue_.run();
    check_all_served();
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

  // A closed-loop client holds requests due while its limit is reached; each completion sends
  // the oldest held one (at the same instant, as an arrival).
  void client_finished() {
    if (client_.finish()) {
      queue_.schedule_in(Duration{0}, Phase::kArrival,
                         [this] { send(client_.release(queue_.now())); });
    }
  }

  // To the replica the router picks from every replica's load now.
  void send(const Request& r) {
    for (std::size_t i = 0; i < replicas_.size(); ++i) loads_[i] = replicas_[i]->load();
    replicas_[setup_.router->route(loads_)]->arrive(r);
  }

  void start_arrivals() {
    if (auto r = workload_.next()) {
      first_arrival_ = r->arrival;
      pending_ = *r;
      queue_.schedule_at(r->arrival, Phase::kArrival, [this] { arrive(); });
    }
  }

  // The pending request arrives: the next is drawn and scheduled, then this one is rejected,
  // held by the client, or sent.
  void arrive() {
    const Request r = pending_;
    ++arrived_;
    if (auto n = workload_.next()) {
      pending_ = *n;
      queue_.schedule_at(n->arrival, Phase::kArrival, [this] { arrive(); });
    }
    if (r.truncated && totals_.truncated++ == 0) first_truncated_ = r;
    if (r.prompt + r.output > s_.model.max_context) {
      // Longer than the model's context: vLLM answers such a request with an error, and
      // `vllm bench serve` counts it as failed. It never reaches a replica, nor holds one of a
      // closed-loop client's slots.
      if (totals_.rejected++ == 0) first_rejected_ = r;
      if (totals_.completed + totals_.rejected == workload_.total()) queue_.stop();
      return;
    }
    if (client_.admit(r)) send(r);
  }

  // Timeline samples every interval from the first arrival. A sample reads the state at the
  // end of its instant, after the schedulers' decisions.
  void start_timeline() {
    if (!observers_.timeline || workload_.total() == 0) return;
    if (observers_.timeline_interval <= Duration{0}) {
      throw std::logic_error("serving timeline: the interval must be positive");
    }
    queue_.schedule_at(first_arrival_, Phase::kObserve, [this] { sample(); });
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

  void check_all_served() const {
    const std::uint64_t total = workload_.total();
    if (arrived_ != total || totals_.completed + totals_.rejected != total) {
      throw std::logic_error(fmt::format("{} of {} requests arrived, {} completed and {} were "
                                         "rejected",
                                         arrived_, total, totals_.completed, totals_.rejected));
    }
  }

  ServingResult result() const {
    std::uint64_t preemptions = 0, swaps = 0;
    for (const auto& r : replicas_) {
      preemptions += r->preemptions();
      swaps += r->swaps();
    }
    ServingResult out;
    out.summary = totals_.summary({to_seconds(queue_.now() - first_arrival_), setup_.replicas,
                                   setup_.pipeline_parallel, replicas_.front()->capacity(),
                                   preemptions, swaps, queue_.executed()});
    out.summary["config"] = setup_.resolved;
    out.summary["warnings"] = warnings(s_, workload_, totals_, first_rejected_, first_truncated_);
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
  ClientLimit client_;
  ReplicaContext context_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::vector<ReplicaLoad> loads_;
  Request pending_;
  std::uint64_t arrived_ = 0;
  std::optional<Request> first_rejected_, first_truncated_;
  SimTime first_arrival_{0};
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
