// CollectiveEngine's solo runs and resumption (collectives.hpp): a collective's flows alone on
// an idle network, and the same collective put back as flows partway through.
#include <stdexcept>

#include "sim/network/collectives.hpp"

namespace kvsim::net {
namespace {

struct Recorder final : FlowObserver {
  std::vector<FlowRecord> records;
  void on_flow(const FlowRecord& record) override { records.push_back(record); }
};

}  // namespace

// The collective as start() runs it, on a scratch network; each step's flows read off the
// finished-flow records (steps run one after another, so the records come step by step).
SoloCollective CollectiveEngine::solo(CollectiveKind kind, const std::vector<int>& gpus,
                                      double bytes) const {
  EventQueue queue;
  FlowNetwork network(queue, network_.topology(), network_.options());
  CollectiveEngine engine(network, config_);
  Recorder recorder;
  network.set_observer(&recorder);
  SoloCollective solo;
  engine.start(kind, gpus, bytes, [&solo, &queue] { solo.time = queue.now(); });
  queue.run();
  const std::vector<Step> plan =
      plan_collective(kind, config_.algorithm, static_cast<int>(gpus.size()), bytes);
  solo.resumable = true;
  std::size_t next = 0;
  for (const Step& step : plan) {
    const FlowRecord& first = recorder.records.at(next);
    solo.steps.push_back({first.requested, first.active, first.finished, first.rate});
    for (std::size_t k = 0; k < step.size(); ++k, ++next) {
      const FlowRecord& r = recorder.records.at(next);
      solo.resumable = solo.resumable && r.rate > 0 && r.requested == first.requested &&
                       r.active == first.active && r.finished == first.finished &&
                       r.rate == first.rate;
    }
  }
  return solo;
}

// The step the collective is in at now (its flows not all finished before now): either its
// flows have not started yet (wait for them, as schedule_step does), or they are put in as they
// are, active or still within their route's latency.
void CollectiveEngine::resume(CollectiveKind kind, const std::vector<int>& gpus, double bytes,
                              const SoloCollective& solo, SimTime started, InlineCallback done) {
  const Duration at = network_.queue().now() - started;
  std::size_t j = 0;
  while (j < solo.steps.size() && solo.steps[j].finished < at) ++j;
  const std::uint32_t id = prepare(kind, gpus, bytes, done);
  Running& c = running_[id];
  if (!solo.resumable || j == solo.steps.size() || solo.steps.size() != c.steps.size()) {
    throw std::logic_error("resume: the collective is not resumable at this time");
  }
  c.step = j;
  const SoloCollective::Step& s = solo.steps[j];
  if (at <= s.requested) {
    network_.queue().schedule_at(started + s.requested, Phase::kDecision,
                                 [this, id] { begin_step(id); });
    return;
  }
  c.pending = static_cast<int>(c.steps[j].size());
  const Topology& topology = network_.topology();
  for (const Transfer& t : c.steps[j]) {
    network_.adopt(topology.gpu_node(c.gpus[t.from]), topology.gpu_node(c.gpus[t.to]),
                   wire_bytes(c, t), started + s.requested, started + s.activated, s.rate,
                   [this, id] { on_transfer(id); });
  }
}

}  // namespace kvsim::net
