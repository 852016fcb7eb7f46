// A batch's walk through a replica's pipeline stages: each stage's compute, its tensor-parallel
// all-reduces, and the send to the next stage (see replica.hpp). Closed-form communication
// costs a stage as one event; flows hand it to the stage group's FlowStage (flow_stage.hpp:
// block by block on the shared network, or one event while its links are quiet).
#include "sim/serving/flow_stage.hpp"
#include "sim/serving/replica.hpp"

namespace kvsim::serving {
namespace {

// A batch in flight at a stage, packed into one integer so that a callback captures it cheaply:
// the stage in the high 32 bits, the batch's flight id in the low.
std::uint64_t pack(int stage, std::uint32_t id) {
  return (static_cast<std::uint64_t>(stage) << 32) | id;
}
int stage_of(std::uint64_t where) { return static_cast<int>(where >> 32); }
std::uint32_t id_of(std::uint64_t where) { return static_cast<std::uint32_t>(where); }

}  // namespace

// The layers of a stage and whether it holds the model's ends (stage_time.hpp prices it).
StageSpan Replica::span(int stage) const {
  return {stages_[stage].layers, stage == 0, stage + 1 == static_cast<int>(stages_.size())};
}

void Replica::start_stage(int stage) {
  Stage& st = stages_[stage];
  if (st.busy || st.queue.empty()) return;
  st.busy = true;
  const std::uint32_t id = st.queue.front();
  st.queue.pop_front();
  st.started = c_.queue.now();
  const InFlight& f = flights_[id];
  if (c_.communication.flows()) {
    c_.communication.stage_walk(st.gpus).start(f.compute, span(stage), f.tokens,
                                               stage == 0 ? f.before : Duration{0},
                                               [this, stage, id] { stage_finished(stage, id); });
    return;
  }
  const Duration d =
      (c_.data_parallel ? f.data_parallel
                        : stage_time(f.compute, span(stage), st.gpus, f.tokens, c_.communication)) +
      (stage == 0 ? f.before : Duration{0});
  c_.queue.schedule_in(d, Phase::kCompletion, [this, stage, id] { stage_finished(stage, id); });
}

void Replica::stage_finished(int stage, std::uint32_t id) {
  Stage& st = stages_[stage];
  st.busy = false;
  c_.totals.busy_seconds += to_seconds(c_.queue.now() - st.started);
  if (c_.observers.iteration) report_iteration(stage, id);  // serve --trace; else one branch
  if (stage + 1 < static_cast<int>(stages_.size())) {
    send_to_next_stage(stage, id);
  } else {
    finish(id);
  }
  start_stage(stage);
  // A free first stage takes the next batch; a finished batch frees its sequences for one.
  if (stage == 0 || stage + 1 == static_cast<int>(stages_.size())) decide();
}

void Replica::report_iteration(int stage, std::uint32_t id) const {
  const Batch& b = flights_[id].batch;
  std::int64_t prefill = 0;
  for (const auto& p : b.prefills) prefill += p.tokens;
  c_.observers.iteration({index_, stage, (stages_[stage].started - SimTime{0}).count(),
                          (c_.queue.now() - SimTime{0}).count(), prefill,
                          static_cast<std::int64_t>(b.prefills.size()),
                          static_cast<std::int64_t>(b.decodes.size())});
}

// Each rank sends its 1/tp share of the batch's hidden states to its peer on the next stage,
// after the engine's hand-off synchronisation (which does not hold the sending stage).
void Replica::send_to_next_stage(int stage, std::uint32_t id) {
  const Duration sync = c_.scenario.engine.pp_stage_sync();
  const std::uint64_t from = pack(stage, id);
  if (sync == Duration{0}) {
    send_now(from);
  } else if (c_.communication.flows()) {
    c_.queue.schedule_in(sync, Phase::kCompletion, [this, from] { send_now(from); });
  } else {  // closed form: the sync and the send in one event
    send_now(from, sync);
  }
}

// The send itself: as flows, or one event after `delay` + its closed-form time.
void Replica::send_now(std::uint64_t from_where, Duration delay) {
  const int stage = stage_of(from_where);
  const std::uint32_t id = id_of(from_where);
  const std::uint64_t where = pack(stage + 1, id);
  const auto arrive = [this, where] {
    const int next = stage_of(where);
    stages_[next].queue.push_back(id_of(where));
    start_stage(next);
  };
  const std::vector<int>& from = stages_[stage].gpus;
  const std::vector<int>& to = stages_[stage + 1].gpus;
  if (c_.communication.flows()) {
    c_.communication.start_send(from, to, flights_[id].tokens, arrive);
  } else {
    c_.queue.schedule_in(delay + c_.communication.send(from, to, flights_[id].tokens),
                         Phase::kCompletion, arrive);
  }
}

}  // namespace kvsim::serving
