#include "sim/serving/engine.hpp"

#include <algorithm>
#include <deque>
#include <functional>

#include <fmt/format.h>

#include "sim/core/event_queue.hpp"
#include "sim/serving/arrival_times.hpp"
#include "sim/serving/communication.hpp"
#include "sim/serving/iteration_cost.hpp"

namespace kvsim::serving {
namespace {

// What every replica shares.
struct Context {
  const Scenario& scenario;
  const ServingSetup& setup;
  EventQueue& queue;
  Totals& totals;
  IterationCost& cost;
  Communication& communication;
  const ServingObservers& observers;
  const Workload& workload;
  std::uint64_t total_requests;
  std::function<void()> finished;  // after each request completes (the client's closed loop)
};

// A replica: its pipeline stages, and one scheduler per stage (vLLM's virtual engines), each
// with its own sequences and 1/pp of the KV memory and at most one batch in flight, so that a
// pipeline of p stages holds p batches that share no sequence.
class Replica {
  struct Engine {
    Engine(std::unique_ptr<KvMemory> kv, std::int64_t swap_tokens)
        : memory(std::move(kv)), state(*memory, swap_tokens) {}
    std::size_t outstanding() const { return state.waiting.size() + state.running.size(); }
    std::unique_ptr<KvMemory> memory;
    ReplicaState state;
    bool in_flight = false;
  };

  // The sum of f over the virtual engines.
  template <class F>
  auto total(F f) const -> std::decay_t<decltype(std::invoke(f, std::declval<const Engine&>()))> {
    std::decay_t<decltype(std::invoke(f, std::declval<const Engine&>()))> sum{};
    for (const auto& e : engines_) sum += std::invoke(f, *e);
    return sum;
  }
  std::int64_t held() const { return total([](const Engine& e) { return e.memory->held(); }); }

 public:
  Replica(Context& c, int index, std::vector<std::unique_ptr<KvMemory>> memories)
      : c_(c), index_(index) {
    const auto swap_tokens = static_cast<std::int64_t>(
        c.setup.scheduler->swap_space_bytes() / c.setup.budget.kv_bytes_per_token /
        static_cast<double>(memories.size()));
    for (auto& memory : memories) engines_.push_back(std::make_unique<Engine>(std::move(memory), swap_tokens));
    const int pp = c.setup.pipeline_parallel;
    const int layers = static_cast<int>(c.scenario.model.layers);
    for (int s = 0; s < pp; ++s) {
      Stage& stage = stages_.emplace_back();
      stage.gpus = c.setup.stage_gpus(index, s);
      stage.layers = layers / pp + (s < layers % pp ? 1 : 0);
    }
  }

  void arrive(const Request& r) {
    Sequence s;
    s.request = r;
    s.to_prefill = r.prompt;
    // To the virtual engine with the fewest unfinished requests, as vLLM does.
    Engine* target = engines_.front().get();
    for (const auto& e : engines_) {
      if (e->outstanding() < target->outstanding()) target = e.get();
    }
    target->state.waiting.push_back(target->state.pool.add(s));
    decide();
  }

  ReplicaLoad load() const {
    return {total(&Engine::outstanding),
            static_cast<double>(held()) / static_cast<double>(capacity())};
  }
  TimelineSample sample(double time) const {
    return {time,
            index_,
            total([](const Engine& e) { return e.state.waiting.size(); }),
            total([](const Engine& e) { return e.state.running.size(); }),
            used_tokens(),
            held(),
            capacity()};
  }
  std::uint64_t preemptions() const {
    return total([](const Engine& e) { return e.state.preemptions; });
  }
  std::uint64_t swaps() const { return total([](const Engine& e) { return e.state.swaps; }); }
  std::int64_t capacity() const {
    return total([](const Engine& e) { return e.memory->capacity(); });
  }

 private:

  struct Stage {
    std::vector<int> gpus;
    int layers = 0;
    std::deque<std::uint32_t> queue;  // batches waiting for this stage
    bool busy = false;
    SimTime started{0};
  };
  struct InFlight {
    Batch batch;
    std::size_t engine = 0;
    IterationCompute compute;
    std::int64_t tokens = 0;
    Duration before{0};  // host overhead and swap copies, on the first stage
  };

  std::int64_t used_tokens() const {
    std::int64_t t = 0;
    for (const auto& e : engines_) {
      for (const Slot slot : e->state.running) t += e->state.pool[slot].cached;
    }
    return t;
  }

  // KV memory integrals up to now (the state changes only at launches and completions).
  void account() {
    const double dt = to_seconds(c_.queue.now() - accounted_);
    c_.totals.kv_used_area += static_cast<double>(used_tokens()) * dt;
    c_.totals.kv_held_area += static_cast<double>(held()) * dt;
    accounted_ = c_.queue.now();
  }

  // Schedulers decide once at the end of the instant, after every completion and arrival at
  // this time: a burst of simultaneous arrivals is seen whole before a batch forms. (The end of
  // the instant rather than a decision-phase event: no extra event per batch.)
  void decide() {
    if (decision_pending_) return;
    decision_pending_ = true;
    c_.queue.at_end_of_instant([this] {
      decision_pending_ = false;
      try_launch();
    });
  }

  // Whenever the first stage is free, the next virtual engine in turn with no batch in flight
  // plans one and starts it.
  void try_launch() {
    if (stages_[0].busy) return;
    account();
    for (std::size_t k = 0; k < engines_.size(); ++k) {
      const std::size_t i = (next_engine_ + k) % engines_.size();
      Engine& e = *engines_[i];
      if (e.in_flight) continue;
      Batch batch = c_.setup.scheduler->plan(e.state);
      if (batch.empty()) {
        // Nothing of this engine runs, so nothing will free its memory.
        if (e.outstanding() > 0) stuck(e);
        continue;
      }
      next_engine_ = (i + 1) % engines_.size();
      launch(i, std::move(batch));
      return;
    }
  }

  void launch(std::size_t engine, Batch batch) {
    Engine& e = *engines_[engine];
    const auto max_batch = c_.setup.scheduler->limits().max_batch_size;
    if (e.memory->held() > e.memory->capacity() ||
        static_cast<std::int64_t>(e.state.running.size()) > max_batch) {
      throw std::logic_error(fmt::format(
          "scheduler {} broke a limit: {} of {} KV tokens held, {} of {} sequences running",
          c_.setup.scheduler->name(), e.memory->held(), e.memory->capacity(),
          e.state.running.size(), max_batch));
    }
    // No sequence twice in a batch, nor in two batches at once (the scheduler marks what it
    // takes as in flight, and finish() clears it).
    ++batches_;
    const auto take = [&](Slot slot) -> Sequence& {
      Sequence& s = e.state.pool[slot];
      if (!s.in_flight || s.last_batch == batches_) {
        throw std::logic_error(fmt::format("scheduler {} put request {} in a batch twice",
                                           c_.setup.scheduler->name(), s.request.id));
      }
      s.last_batch = batches_;
      return s;
    };
    shape_.clear();
    for (const auto& [slot, tokens] : batch.prefills) {
      Sequence& s = take(slot);
      if (s.scheduled.count() < 0) s.scheduled = c_.queue.now();
      shape_.prefills.emplace_back(tokens, s.cached + tokens);
      if (s.prefilled + tokens == s.to_prefill) ++shape_.emitting;
    }
    for (const Slot slot : batch.decodes) shape_.decodes.push_back(take(slot).cached + 1);
    shape_.emitting += static_cast<std::int64_t>(batch.decodes.size());

    const std::uint32_t id = allocate();
    InFlight& f = flights_[id];
    f.compute = c_.cost(shape_);
    f.tokens = shape_.tokens();
    const double swap_bytes = static_cast<double>(batch.swap_out_tokens + batch.swap_in_tokens) *
                              c_.setup.budget.kv_bytes_per_token;
    f.before = c_.setup.host_overhead +
               (swap_bytes > 0 ? from_seconds_ceil(swap_bytes / c_.scenario.gpu.pcie_bandwidth)
                               : Duration{0});
    f.batch = std::move(batch);
    f.engine = engine;
    e.in_flight = true;
    stages_[0].queue.push_back(id);
    start_stage(0);
  }

  // Bad input, not a bug: the workload asks for more KV memory than a replica has. The culprit
  // is the oldest running sequence (it preempted every other and still cannot grow), or, with
  // none running, the first waiting one (it does not fit an empty memory).
  [[noreturn]] void stuck(const Engine& e) const {
    const ReplicaState& st = e.state;
    const Sequence& s = st.pool[st.running.empty() ? st.waiting.front() : st.running.front()];
    throw InputError(
        c_.workload.file(), c_.workload.lengths_pointer(),
        fmt::format("{} ({} prompt + {} output tokens) needs up to {} tokens of {} KV memory "
                    "and can never fit the {} tokens of a replica{}; raise the memory "
                    "utilization, use more GPUs per replica, or cap the lengths",
                    c_.workload.describe(s.request), s.request.prompt, s.request.output,
                    e.memory->peak_tokens(s.request), e.memory->to_json()["type"].get<std::string>(),
                    e.memory->capacity(),
                    engines_.size() > 1 ? "'s pipeline virtual engine" : ""));
  }

  std::uint32_t allocate() {
    if (free_flights_.empty()) {
      flights_.emplace_back();
      return static_cast<std::uint32_t>(flights_.size() - 1);
    }
    const std::uint32_t id = free_flights_.back();
    free_flights_.pop_back();
    return id;
  }

  // Compute of one stage on one GPU, and the all-reduces it needs.
  Duration stage_compute(int stage, const InFlight& f) const {
    double seconds = static_cast<double>(stages_[stage].layers) * f.compute.layer();
    if (stage == 0) seconds += f.compute.embedding;
    if (stage + 1 == static_cast<int>(stages_.size())) seconds += f.compute.head;
    return from_seconds(seconds);
  }
  int all_reduces(int stage, const InFlight& f) const {
    return c_.setup.tensor_parallel > 1
               ? stages_[stage].layers * static_cast<int>(f.compute.layer_blocks.size())
               : 0;
  }

  void start_stage(int stage) {
    Stage& st = stages_[stage];
    if (st.busy || st.queue.empty()) return;
    st.busy = true;
    const std::uint32_t id = st.queue.front();
    st.queue.pop_front();
    st.started = c_.queue.now();
    if (c_.communication.flows()) {
      run_step(stage, id, 0);
      return;
    }
    const InFlight& f = flights_[id];
    Duration d = stage_compute(stage, f) + (stage == 0 ? f.before : Duration{0});
    if (const int n = all_reduces(stage, f); n > 0) {
      d += n * c_.communication.all_reduce(st.gpus, f.tokens);
    }
    c_.queue.schedule_in(d, Phase::kCompletion, [this, stage, id] { stage_finished(stage, id); });
  }

  // Flows: the stage's work step by step. Step 0: the first stage's host overhead, swaps and
  // embedding; steps 1..layers x blocks: one block's compute, then its all-reduce; the last
  // step: the LM head on the last stage.
  void run_step(int stage, std::uint32_t id, std::int64_t step) {
    const InFlight& f = flights_[id];
    const auto blocks = static_cast<std::int64_t>(f.compute.layer_blocks.size());
    const std::int64_t last = static_cast<std::int64_t>(stages_[stage].layers) * blocks + 1;
    const bool last_stage = stage + 1 == static_cast<int>(stages_.size());
    const std::uint64_t where = (static_cast<std::uint64_t>(stage) << 32) | id;
    const auto next = [this, where, step] {
      run_step(static_cast<int>(where >> 32), static_cast<std::uint32_t>(where), step + 1);
    };
    if (step == 0) {
      const Duration d = stage == 0 ? f.before + from_seconds(f.compute.embedding) : Duration{0};
      c_.queue.schedule_in(d, Phase::kCompletion, next);
    } else if (step < last) {
      const double compute = f.compute.layer_blocks[static_cast<std::size_t>((step - 1) % blocks)];
      c_.queue.schedule_in(from_seconds(compute), Phase::kCompletion, [this, where, step] {
        const int s = static_cast<int>(where >> 32);
        const auto batch = static_cast<std::uint32_t>(where);
        if (c_.setup.tensor_parallel == 1) {
          run_step(s, batch, step + 1);
          return;
        }
        c_.communication.start_all_reduce(stages_[s].gpus, flights_[batch].tokens,
                                          [this, where, step] {
                                            run_step(static_cast<int>(where >> 32),
                                                     static_cast<std::uint32_t>(where), step + 1);
                                          });
      });
    } else if (step == last) {
      const Duration d = last_stage ? from_seconds(f.compute.head) : Duration{0};
      c_.queue.schedule_in(d, Phase::kCompletion, next);
    } else {
      stage_finished(stage, id);
    }
  }

  void stage_finished(int stage, std::uint32_t id) {
    Stage& st = stages_[stage];
    st.busy = false;
    c_.totals.busy_seconds += to_seconds(c_.queue.now() - st.started);
    if (stage + 1 < static_cast<int>(stages_.size())) {
      const std::uint64_t where = (static_cast<std::uint64_t>(stage + 1) << 32) | id;
      const auto arrive = [this, where] {
        const int next = static_cast<int>(where >> 32);
        stages_[next].queue.push_back(static_cast<std::uint32_t>(where));
        start_stage(next);
      };
      const std::vector<int>& to = stages_[stage + 1].gpus;
      if (c_.communication.flows()) {
        c_.communication.start_send(st.gpus, to, flights_[id].tokens, arrive);
      } else {
        c_.queue.schedule_in(c_.communication.send(st.gpus, to, flights_[id].tokens),
                             Phase::kCompletion, arrive);
      }
    } else {
      finish(id);
    }
    start_stage(stage);
    // A free first stage takes the next batch; a finished batch frees its sequences for one.
    if (stage == 0 || stage + 1 == static_cast<int>(stages_.size())) decide();
  }

  // The batch has left the last stage: its tokens exist.
  void finish(std::uint32_t id) {
    account();
    const SimTime now = c_.queue.now();
    InFlight& f = flights_[id];
    Engine& e = *engines_[f.engine];
    ReplicaState& st = e.state;
    e.in_flight = false;
    for (const auto& [slot, tokens] : f.batch.prefills) {
      Sequence& s = st.pool[slot];
      s.in_flight = false;
      s.prefilled += tokens;
      s.cached += tokens;
      if (s.prompt_done()) {
        if (s.first_token.count() < 0) s.first_token = now;
        emit(s, now);  // the prompt's last position samples the next token
      }
    }
    for (const Slot slot : f.batch.decodes) {
      Sequence& s = st.pool[slot];
      s.in_flight = false;
      ++s.cached;  // the token it consumed
      emit(s, now);
    }
    free_flights_.push_back(id);

    if (c_.setup.scheduler->completes_together()) {
      const bool all_done = std::all_of(st.running.begin(), st.running.end(),
                                        [&st](Slot s) { return st.pool[s].finished(); });
      if (all_done) {
        for (const Slot slot : st.running) complete(e, slot, now);
        st.running.clear();
      }
      return;
    }
    std::size_t out = 0;
    for (std::size_t i = 0; i < st.running.size(); ++i) {
      const Slot slot = st.running[i];
      const Sequence& s = st.pool[slot];
      if (!s.in_flight && s.finished()) {
        complete(e, slot, now);
        continue;
      }
      st.running[out++] = slot;
    }
    st.running.resize(out);
  }

  void emit(Sequence& s, SimTime now) {
    if (s.last_token.count() >= 0) c_.totals.itl.add(to_seconds(now - s.last_token));
    s.last_token = now;
    if (c_.observers.token) c_.observers.token(s.request.id, s.generated, to_seconds(now - SimTime{0}));
    ++s.generated;
  }

  void complete(Engine& e, Slot slot, SimTime now) {
    Sequence& s = e.state.pool[slot];
    e.memory->release(s);
    Totals& t = c_.totals;
    const double arrival = to_seconds(s.request.arrival - SimTime{0});
    const double first = to_seconds(s.first_token - SimTime{0});
    const double end = to_seconds(now - SimTime{0});
    const double ttft = first - arrival;
    t.ttft.add(ttft);
    t.e2e.add(end - arrival);
    t.queueing.add(to_seconds(s.scheduled - SimTime{0}) - arrival);
    std::optional<double> tpot;  // none for a single output token: it has no gaps
    if (s.request.output > 1) {
      tpot = (end - first) / static_cast<double>(s.request.output - 1);
      t.tpot.add(*tpot);
    }
    ++t.completed;
    t.input_tokens += static_cast<std::uint64_t>(s.request.prompt);
    t.output_tokens += static_cast<std::uint64_t>(s.request.output);
    const ServingSetup& c = c_.setup;
    const bool tpot_ok = !c.tpot_slo || !tpot || *tpot <= *c.tpot_slo;
    if ((!c.ttft_slo || ttft <= *c.ttft_slo) && tpot_ok) ++t.good;
    if (c_.observers.request) {
      c_.observers.request({s.request.id, index_, arrival, to_seconds(s.scheduled - SimTime{0}),
                            first, end, s.request.prompt, s.request.output, s.preemptions});
    }
    e.state.pool.remove(slot);
    c_.finished();
    if (t.completed + t.rejected == c_.total_requests) c_.queue.stop();  // background never ends
  }

  Context& c_;
  int index_;
  std::vector<std::unique_ptr<Engine>> engines_;
  std::size_t next_engine_ = 0;
  std::uint64_t batches_ = 0;
  std::vector<Stage> stages_;
  std::vector<InFlight> flights_;
  std::vector<std::uint32_t> free_flights_;
  IterationShape shape_;
  SimTime accounted_{0};
  bool decision_pending_ = false;  // decide() has asked for the end of this instant
};

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

}  // namespace

ServingResult simulate_serving(const Scenario& s, ServingSetup& setup, Workload workload,
                               const ServingObservers& observers) {
  EventQueue q;
  Totals totals;
  IterationCost cost(s, setup.tensor_parallel);
  Communication communication(s, setup.flows, q);
  // A closed-loop client holds requests due while its limit is reached; each completion sends
  // the oldest held one (at the same instant, as an arrival).
  ClientLimit client(workload.max_concurrency());
  std::function<void(const Request&)> send;
  std::function<void()> release = [&] { send(client.release(q.now())); };
  const auto finished = [&] {
    if (client.finish()) q.schedule_in(Duration{0}, Phase::kArrival, [&release] { release(); });
  };
  Context context{s,         setup,     q,        totals,           cost,
                  communication, observers, workload, workload.total(), finished};
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int r = 0; r < setup.replicas; ++r) {
    std::vector<std::unique_ptr<KvMemory>> memories;
    for (int e = 0; e < setup.pipeline_parallel; ++e) {
      memories.push_back(std::move(setup.memories[r * setup.pipeline_parallel + e]));
    }
    replicas.push_back(std::make_unique<Replica>(context, r, std::move(memories)));
  }
  setup.memories.clear();  // the replicas own them now

  // One arrival is pending at a time: the next is drawn when the current one arrives, so the
  // workload is never held in memory.
  std::vector<ReplicaLoad> loads(replicas.size());
  Request pending;
  std::uint64_t arrived = 0;
  std::optional<Request> first_rejected, first_truncated;
  const auto route = [&] {
    for (std::size_t i = 0; i < replicas.size(); ++i) loads[i] = replicas[i]->load();
    return setup.router->route(loads);
  };
  send = [&](const Request& r) { replicas[route()]->arrive(r); };
  std::function<void()> arrive = [&] {
    const Request r = pending;
    ++arrived;
    if (auto n = workload.next()) {
      pending = *n;
      q.schedule_at(n->arrival, Phase::kArrival, [&arrive] { arrive(); });
    }
    if (r.truncated && totals.truncated++ == 0) first_truncated = r;
    if (r.prompt + r.output > s.model.max_context) {
      // Longer than the model's context: vLLM answers such a request with an error, and
      // `vllm bench serve` counts it as failed. It never reaches a replica, nor holds one of a
      // closed-loop client's slots.
      if (totals.rejected++ == 0) first_rejected = r;
      if (totals.completed + totals.rejected == workload.total()) q.stop();
      return;
    }
    if (client.admit(r)) send(r);
  };
  SimTime first_arrival{0};
  if (auto r = workload.next()) {
    first_arrival = r->arrival;
    pending = *r;
    q.schedule_at(r->arrival, Phase::kArrival, [&arrive] { arrive(); });
  }
  // Timeline rows are bounded, so a tiny interval over a long run cannot fill the disk. A
  // sample reads the state at the end of its instant, after the schedulers' decisions.
  std::uint64_t samples = 0;
  std::function<void()> take_sample = [&] {
    if (++samples > kMaxTimelineSamples) {
      throw InputError("--timeline-interval", "",
                       fmt::format("the timeline would pass {} samples (kMaxTimelineSamples in "
                                   "sim/serving/engine.hpp) before the run ends; use a longer "
                                   "interval",
                                   kMaxTimelineSamples));
    }
    const double now = to_seconds(q.now() - SimTime{0});
    for (const auto& replica : replicas) observers.timeline(replica->sample(now));
  };
  std::function<void()> sample = [&] {
    q.at_end_of_instant([&take_sample] { take_sample(); });
    q.schedule_in(observers.timeline_interval, Phase::kObserve, [&sample] { sample(); });
  };
  if (observers.timeline && workload.total() > 0) {
    if (observers.timeline_interval <= Duration{0}) {
      throw std::logic_error("serving timeline: the interval must be positive");
    }
    q.schedule_at(first_arrival, Phase::kObserve, [&sample] { sample(); });
  }
  q.run();
  if (arrived != workload.total() || totals.completed + totals.rejected != workload.total()) {
    throw std::logic_error(fmt::format("{} of {} requests arrived, {} completed and {} were "
                                       "rejected",
                                       arrived, workload.total(), totals.completed,
                                       totals.rejected));
  }

  std::uint64_t preemptions = 0, swaps = 0;
  for (const auto& r : replicas) {
    preemptions += r->preemptions();
    swaps += r->swaps();
  }
  ServingResult out;
  out.summary = totals.summary({to_seconds(q.now() - first_arrival), setup.replicas,
                                setup.pipeline_parallel, replicas.front()->capacity(),
                                preemptions, swaps, q.executed()});
  out.summary["config"] = setup.resolved;
  out.summary["warnings"] = warnings(s, workload, totals, first_rejected, first_truncated);
  return out;
}

}  // namespace kvsim::serving
