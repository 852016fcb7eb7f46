// A batch's walk through a replica's pipeline stages: each stage's compute, its tensor-parallel
// all-reduces, and the send to the next stage (see replica.hpp). Closed-form communication
// costs a stage as one event; flows run it block by block on the shared network, except on a
// stage group with links to itself (Communication::exclusive), also one event.
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

// Flows on an exclusive group: run_step's steps summed, each block's compute rounded on its own
// as run_step schedules it, each all-reduce as long as it takes as flows alone on its links.
Duration exclusive_stage_time(const IterationCompute& c, const StageSpan& span,
                              const std::vector<int>& gpus, std::int64_t tokens,
                              Communication& communication) {
  const Duration all_reduce =
      gpus.size() > 1 ? communication.solo_all_reduce(gpus, tokens) : Duration{0};
  Duration layer = c.layer_sync;
  for (const double block : c.layer_blocks) layer += from_seconds(block) + all_reduce;
  return c.host + (span.first ? from_seconds(c.embedding) : Duration{0}) + span.layers * layer +
         (span.last ? from_seconds(c.head) : Duration{0});
}

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
  const bool flows = c_.communication.flows();
  if (flows && !c_.communication.exclusive(st.gpus)) {
    run_step(stage, id, 0);
    return;
  }
  const InFlight& f = flights_[id];
  const Duration d =
      (flows ? exclusive_stage_time(f.compute, span(stage), st.gpus, f.tokens, c_.communication)
             : stage_time(f.compute, span(stage), st.gpus, f.tokens, c_.communication)) +
      (stage == 0 ? f.before : Duration{0});
  c_.queue.schedule_in(d, Phase::kCompletion, [this, stage, id] { stage_finished(stage, id); });
}

// Flows: the stage's work step by step. Step 0: the engine's host time, and on the first stage
// the host overhead, swaps and embedding; steps 1..layers x blocks: one block's compute (the
// first of a layer after the engine's layer sync), then its all-reduce; the last step: the LM
// head on the last stage.
void Replica::run_step(int stage, std::uint32_t id, std::int64_t step) {
  const InFlight& f = flights_[id];
  const auto blocks = static_cast<std::int64_t>(f.compute.layer_blocks.size());
  const std::int64_t last = static_cast<std::int64_t>(stages_[stage].layers) * blocks + 1;
  const bool last_stage = stage + 1 == static_cast<int>(stages_.size());
  const std::uint64_t where = pack(stage, id);
  const auto next = [this, where, step] { run_step(stage_of(where), id_of(where), step + 1); };
  if (step == 0) {
    const Duration d = f.compute.host + (stage == 0 ? f.before + from_seconds(f.compute.embedding)
                                                    : Duration{0});
    c_.queue.schedule_in(d, Phase::kCompletion, next);
  } else if (step < last) {
    const auto block = static_cast<std::size_t>((step - 1) % blocks);
    const Duration sync = block == 0 ? f.compute.layer_sync : Duration{0};
    c_.queue.schedule_in(sync + from_seconds(f.compute.layer_blocks[block]), Phase::kCompletion,
                         [this, where, step] { run_block(where, step); });
  } else if (step == last) {
    const Duration d = last_stage ? from_seconds(f.compute.head) : Duration{0};
    c_.queue.schedule_in(d, Phase::kCompletion, next);
  } else {
    stage_finished(stage, id);
  }
}

// Flows: a block's compute is done; under tensor parallelism its all-reduce runs before the
// next step.
void Replica::run_block(std::uint64_t where, std::int64_t step) {
  const int stage = stage_of(where);
  const std::uint32_t id = id_of(where);
  if (c_.setup.tensor_parallel == 1) {
    run_step(stage, id, step + 1);
    return;
  }
  c_.communication.start_all_reduce(stages_[stage].gpus, flights_[id].tokens,
                                    [this, where, step] {
                                      run_step(stage_of(where), id_of(where), step + 1);
                                    });
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
