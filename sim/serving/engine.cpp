#include "sim/serving/engine.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <unordered_map>

#include <fmt/format.h>

#include "sim/core/event_queue.hpp"
#include "sim/serving/iteration_cost.hpp"

namespace kvsim::serving {
namespace {

struct Sequence {
  Request request;
  std::int64_t prefilled = 0;   // tokens of the (re)computed prompt done
  std::int64_t to_prefill = 0;  // prompt, or prompt + generated after a preemption
  std::int64_t generated = 0;   // output tokens sampled
  std::int64_t cached = 0;      // tokens whose K and V are in memory
  std::int64_t blocks = 0;      // paged: blocks held
  std::int64_t reserved = 0;    // contiguous: tokens reserved
  SimTime scheduled{-1};
  SimTime first_token{-1};
  int preemptions = 0;
};

struct Totals {
  LatencyHistogram ttft, tpot, e2e, queueing;
  std::uint64_t completed = 0, output_tokens = 0, good = 0, preemptions = 0;
  double busy_seconds = 0;
  double kv_used_area = 0, kv_held_area = 0;  // token-seconds used, and held (reserved/blocks)
};

class Replica {
 public:
  Replica(const Scenario& s, const ServingConfig& c, EventQueue& q, Totals& totals,
          std::int64_t capacity_tokens,
          const std::function<void(const RequestRecord&)>& on_request)
      : c_(c), q_(q), totals_(totals), cost_(s, c.host_overhead), capacity_(capacity_tokens),
        on_request_(on_request) {
    max_sequence_ = c.max_sequence > 0 ? c.max_sequence : s.model.max_context;
  }

  std::size_t outstanding() const { return waiting_.size() + running_.size(); }

  void arrive(const Request& r) {
    Sequence seq;
    seq.request = r;
    seq.to_prefill = r.prompt;
    waiting_.push_back(seq);
    if (!busy_) start_iteration();
  }

  std::int64_t used_tokens() const {
    std::int64_t t = 0;
    for (const auto& s : running_) t += s.cached;
    return t;
  }
  std::int64_t held_tokens() const {
    std::int64_t t = 0;
    for (const auto& s : running_) t += paged() ? s.blocks * c_.block_size : s.reserved;
    return t;
  }

 private:
  bool paged() const { return c_.memory == "paged"; }
  std::int64_t free_tokens() const { return capacity_ - held_tokens_; }
  std::int64_t blocks_for(std::int64_t tokens) const {
    return (tokens + c_.block_size - 1) / c_.block_size;
  }
  // Memory for `tokens` more tokens of `s` (paged: whole blocks; contiguous: the reservation is
  // made at admission); false when it does not fit.
  bool grow(Sequence& s, std::int64_t tokens_after) {
    if (!paged()) return true;
    const std::int64_t need = blocks_for(tokens_after) - s.blocks;
    if (need <= 0) return true;
    if (need * c_.block_size > free_tokens()) return false;
    s.blocks += need;
    held_tokens_ += need * c_.block_size;
    return true;
  }
  bool admit(Sequence& s, std::int64_t first_tokens) {
    if (paged()) {
      const auto watermark = static_cast<std::int64_t>(0.01 * static_cast<double>(capacity_));
      if (blocks_for(first_tokens) * c_.block_size > free_tokens() - watermark) return false;
      return grow(s, first_tokens);
    }
    const std::int64_t reserve = std::max(max_sequence_, s.request.prompt + s.request.output);
    if (reserve > free_tokens()) return false;
    s.reserved = reserve;
    held_tokens_ += reserve;
    return true;
  }
  void release(Sequence& s) {
    held_tokens_ -= paged() ? s.blocks * c_.block_size : s.reserved;
    s.blocks = 0;
    s.reserved = 0;
  }

  struct Plan {
    std::vector<std::size_t> prefill;  // indices into running_, with chunk sizes
    std::vector<std::int64_t> chunk;
    std::vector<std::size_t> decode;
  };

  // Moves admissible waiting sequences to running (in arrival order) and plans the iteration.
  Plan plan() {
    Plan p;
    const std::string& policy = c_.scheduler;
    std::int64_t budget = c_.max_batched_tokens;
    auto admit_waiting = [&](bool chunked) {
      while (!waiting_.empty() &&
             static_cast<std::int64_t>(running_.size()) < c_.max_batch_size && budget > 0) {
        Sequence& s = waiting_.front();
        const std::int64_t remaining = s.to_prefill - s.prefilled;
        const std::int64_t chunk = chunked ? std::min(remaining, budget) : remaining;
        if (!chunked && chunk > budget && !running_.empty()) break;
        if (!admit(s, s.cached + chunk)) break;
        if (s.scheduled.count() < 0) s.scheduled = q_.now();
        running_.push_back(std::move(s));
        waiting_.pop_front();
        p.prefill.push_back(running_.size() - 1);
        p.chunk.push_back(chunk);
        budget -= chunk;
      }
    };
    if (policy == "static") {
      if (running_.empty()) {
        budget = std::numeric_limits<std::int64_t>::max();
        admit_waiting(false);
      } else {
        for (std::size_t i = 0; i < running_.size(); ++i) {
          if (running_[i].generated < running_[i].request.output) p.decode.push_back(i);
        }
      }
      return p;
    }
    if (policy == "vllm") {
      admit_waiting(false);
      if (!p.prefill.empty()) return p;  // prefill first
    }
    // Decodes (continuous and chunked: every running sequence that has finished its prompt).
    for (std::size_t i = 0; i < running_.size(); ++i) {
      Sequence& s = running_[i];
      if (s.prefilled < s.to_prefill) continue;
      if (!grow(s, s.cached + 1)) {
        if (!preempt_for(i)) continue;
        if (i >= running_.size()) break;
        if (!grow(running_[i], running_[i].cached + 1)) continue;
      }
      p.decode.push_back(i);
      --budget;
    }
    if (policy == "chunked_prefill") {
      // Prompts already started continue first, then new ones, within the budget.
      for (std::size_t i = 0; i < running_.size() && budget > 0; ++i) {
        Sequence& s = running_[i];
        if (s.prefilled >= s.to_prefill || s.prefilled == 0) continue;
        const std::int64_t chunk = std::min(s.to_prefill - s.prefilled, budget);
        if (!grow(s, s.cached + chunk)) break;
        p.prefill.push_back(i);
        p.chunk.push_back(chunk);
        budget -= chunk;
      }
      admit_waiting(true);
    } else if (policy == "continuous") {
      admit_waiting(false);
    }
    return p;
  }

  // vLLM-style recompute preemption: evict the newest running sequence (not `protect`'s
  // position if avoidable) back to the front of the queue. False when nothing can be evicted.
  bool preempt_for(std::size_t protect) {
    if (running_.size() <= 1) return false;
    std::size_t victim = running_.size() - 1;
    if (victim == protect) return false;
    Sequence s = std::move(running_[victim]);
    running_.pop_back();
    release(s);
    s.to_prefill = s.request.prompt + s.generated;
    s.prefilled = 0;
    s.cached = 0;
    ++s.preemptions;
    ++totals_.preemptions;
    waiting_.push_front(std::move(s));
    return true;
  }

  void start_iteration() {
    Plan p = plan();
    if (p.prefill.empty() && p.decode.empty()) {
      busy_ = false;
      if (!waiting_.empty() && running_.empty()) {
        throw std::runtime_error(fmt::format(
            "request {} ({} prompt tokens) can never fit the KV memory of a replica ({} tokens)",
            waiting_.front().request.id, waiting_.front().request.prompt, capacity_));
      }
      return;
    }
    busy_ = true;
    // Invariants every scheduler must keep (the conformance tests drive all of them here).
    if (held_tokens_ > capacity_ ||
        static_cast<std::int64_t>(running_.size()) > c_.max_batch_size) {
      throw std::logic_error(fmt::format("scheduler {} broke a limit: {} of {} KV tokens held, "
                                         "{} of {} sequences running",
                                         c_.scheduler, held_tokens_, capacity_, running_.size(),
                                         c_.max_batch_size));
    }
    std::vector<std::pair<std::int64_t, std::int64_t>> prefills;
    std::int64_t emitting = 0;
    for (std::size_t k = 0; k < p.prefill.size(); ++k) {
      const Sequence& s = running_[p.prefill[k]];
      prefills.emplace_back(p.chunk[k], s.prefilled + p.chunk[k]);
      if (s.prefilled + p.chunk[k] == s.to_prefill) ++emitting;
    }
    std::vector<std::int64_t> decodes;
    for (const std::size_t i : p.decode) decodes.push_back(running_[i].cached + 1);
    emitting += static_cast<std::int64_t>(decodes.size());
    const Duration d = cost_(prefills, decodes, emitting);
    totals_.busy_seconds += to_seconds(d);
    totals_.kv_used_area += static_cast<double>(used_tokens()) * to_seconds(d);
    totals_.kv_held_area += static_cast<double>(held_tokens_) * to_seconds(d);
    plan_ = std::move(p);
    q_.schedule_in(d, Phase::kCompletion, [this] { finish_iteration(); });
  }

  void finish_iteration() {
    const SimTime now = q_.now();
    for (std::size_t k = 0; k < plan_.prefill.size(); ++k) {
      Sequence& s = running_[plan_.prefill[k]];
      s.prefilled += plan_.chunk[k];
      s.cached += plan_.chunk[k];
      if (s.prefilled == s.to_prefill) {
        if (s.first_token.count() < 0) s.first_token = now;
        ++s.generated;  // the prefill's last position samples the next token
      }
    }
    for (const std::size_t i : plan_.decode) {
      ++running_[i].cached;  // the token it consumed
      ++running_[i].generated;
    }
    // Completions, keeping the order of the rest.
    std::size_t out = 0;
    for (std::size_t i = 0; i < running_.size(); ++i) {
      Sequence& s = running_[i];
      const bool done = s.prefilled == s.to_prefill && s.generated >= s.request.output;
      if (done && c_.scheduler != "static") {
        complete(s, now);
        continue;
      }
      if (out != i) running_[out] = std::move(running_[i]);
      ++out;
    }
    running_.resize(out);
    if (c_.scheduler == "static" &&
        std::all_of(running_.begin(), running_.end(), [](const Sequence& s) {
          return s.prefilled == s.to_prefill && s.generated >= s.request.output;
        })) {
      for (Sequence& s : running_) complete(s, now);
      running_.clear();
    }
    start_iteration();
  }

  void complete(Sequence& s, SimTime now) {
    release(s);
    const double arrival = to_seconds(s.request.arrival - SimTime{0});
    const double first = to_seconds(s.first_token - SimTime{0});
    const double end = to_seconds(now - SimTime{0});
    const double ttft = first - arrival;
    totals_.ttft.add(ttft);
    totals_.e2e.add(end - arrival);
    totals_.queueing.add(to_seconds(s.scheduled - SimTime{0}) - arrival);
    double tpot = 0;
    if (s.request.output > 1) {
      tpot = (end - first) / static_cast<double>(s.request.output - 1);
      totals_.tpot.add(tpot);
    }
    ++totals_.completed;
    totals_.output_tokens += static_cast<std::uint64_t>(s.request.output);
    const bool good = (!c_.ttft_slo || ttft <= *c_.ttft_slo) && (!c_.tpot_slo || tpot <= *c_.tpot_slo);
    totals_.good += good ? 1 : 0;
    if (on_request_) {
      on_request_({s.request.id, arrival, to_seconds(s.scheduled - SimTime{0}), first, end,
                   s.request.prompt, s.request.output, s.preemptions});
    }
  }

  const ServingConfig& c_;
  EventQueue& q_;
  Totals& totals_;
  IterationCost cost_;
  std::int64_t capacity_;
  std::int64_t max_sequence_ = 0;
  std::int64_t held_tokens_ = 0;
  const std::function<void(const RequestRecord&)>& on_request_;
  std::deque<Sequence> waiting_;
  std::vector<Sequence> running_;
  Plan plan_;
  bool busy_ = false;
};

}  // namespace

ServingConfig ServingConfig::from_config(const ConfigNode& n) {
  ServingConfig c;
  if (const auto sch = n.find("scheduler")) {
    c.scheduler = sch->one_of("type", {"static", "continuous", "vllm", "chunked_prefill"});
    c.max_batch_size = sch->count_or("max_batch_size", c.max_batch_size);
    c.max_batched_tokens = sch->count_or("max_batched_tokens", c.max_batched_tokens);
    sch->finish();
  }
  if (const auto m = n.find("memory")) {
    c.memory = m->one_of("type", {"paged", "contiguous"});
    c.block_size = m->count_or("block_size", c.block_size);
    c.utilization = m->number_or("utilization", c.utilization, 0.01, 1);
    c.max_sequence = m->count_or("max_sequence", 0, 0);
    m->finish();
  } else if (c.scheduler == "static" || c.scheduler == "continuous") {
    c.memory = "contiguous";  // how systems before vLLM managed KV memory
  }
  c.replicas = static_cast<int>(n.count_or("replicas", 1));
  c.router = n.one_of_or("router", "round-robin", {"round-robin", "least-outstanding"});
  if (const auto h = n.find("host_overhead")) c.host_overhead = h->as_duration();
  if (const auto slo = n.find("slo")) {
    if (const auto t = slo->find("ttft")) c.ttft_slo = t->as_seconds();
    if (const auto t = slo->find("tpot")) c.tpot_slo = t->as_seconds();
    slo->finish();
  }
  if (const auto tp = n.find("tensor_parallel"); tp && tp->as_integer() != 1) {
    tp->fail("serving runs one GPU per replica for now (tensor_parallel 1)");
  }
  return c;
}

Json ServingConfig::to_json() const {
  Json j{{"scheduler", {{"type", scheduler}, {"max_batch_size", max_batch_size},
                        {"max_batched_tokens", max_batched_tokens}}},
         {"memory", {{"type", memory}, {"block_size", block_size}, {"utilization", utilization},
                     {"max_sequence", max_sequence}}},
         {"replicas", replicas},
         {"router", router},
         {"host_overhead_ns", host_overhead.count()}};
  if (ttft_slo) j["slo"]["ttft_s"] = *ttft_slo;
  if (tpot_slo) j["slo"]["tpot_s"] = *tpot_slo;
  return j;
}

ServingResult simulate_serving(const Scenario& s, const ServingConfig& c, Workload workload,
                               const std::function<void(const RequestRecord&)>& on_request) {
  // KV capacity per replica: HBM left after the weights and the activations of one full
  // iteration, times the utilisation fraction.
  const double kv_token = s.model.kv_bytes_per_token(s.precision.kv_cache);
  const double free_bytes =
      s.gpu.hbm_bytes * c.utilization - s.model.weight_bytes(s.precision.weights) -
      s.model.activation_bytes_per_token(s.precision.activations) *
          static_cast<double>(c.max_batched_tokens);
  const auto capacity = static_cast<std::int64_t>(free_bytes / kv_token);
  if (capacity < c.block_size) {
    throw InputError(s.file, "/serving/memory",
                     fmt::format("no room for the KV cache: {} has {:.1f} GiB of weights on a "
                                 "{:.0f} GiB GPU",
                                 s.model.name, s.model.weight_bytes(s.precision.weights) / (1 << 30),
                                 s.gpu.hbm_bytes / (1 << 30)));
  }
  EventQueue q;
  Totals totals;
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int r = 0; r < c.replicas; ++r) {
    replicas.push_back(std::make_unique<Replica>(s, c, q, totals, capacity, on_request));
  }
  std::size_t next_replica = 0;
  std::uint64_t arrived = 0;
  // One arrival is pending at a time: the next is drawn when the current one arrives, so the
  // workload is never held in memory.
  Request pending;
  std::function<void()> arrive = [&] {
    const Request r = pending;
    ++arrived;
    std::size_t target = 0;
    if (c.router == "round-robin") {
      target = next_replica++ % replicas.size();
    } else {
      for (std::size_t i = 1; i < replicas.size(); ++i) {
        if (replicas[i]->outstanding() < replicas[target]->outstanding()) target = i;
      }
    }
    if (auto n = workload.next()) {
      pending = *n;
      q.schedule_at(n->arrival, Phase::kArrival, [&arrive] { arrive(); });
    }
    replicas[target]->arrive(r);
  };
  SimTime first_arrival{0};
  if (auto r = workload.next()) {
    first_arrival = r->arrival;
    pending = *r;
    q.schedule_at(r->arrival, Phase::kArrival, [&arrive] { arrive(); });
  }
  q.run();
  const double span = to_seconds(q.now() - first_arrival);
  const auto per_s = [&](double v) { return span > 0 ? v / span : 0.0; };
  ServingResult out;
  out.summary = Json{
      {"requests", totals.completed},
      {"duration_s", span},
      {"request_throughput", per_s(static_cast<double>(totals.completed))},
      {"output_throughput", per_s(static_cast<double>(totals.output_tokens))},
      {"ttft", totals.ttft.to_json()},
      {"tpot", totals.tpot.to_json()},
      {"e2e_latency", totals.e2e.to_json()},
      {"queueing_delay", totals.queueing.to_json()},
      {"goodput", per_s(static_cast<double>(totals.good))},
      {"requests_meeting_slo", totals.good},
      {"preemptions", totals.preemptions},
      {"gpu_busy_fraction", span > 0 ? totals.busy_seconds / (span * c.replicas) : 0.0},
      {"kv_capacity_tokens_per_replica", capacity},
      {"kv_utilization", totals.busy_seconds > 0
                             ? totals.kv_used_area / (totals.busy_seconds * static_cast<double>(capacity))
                             : 0.0},
      {"kv_waste", totals.kv_held_area > 0 ? 1 - totals.kv_used_area / totals.kv_held_area : 0.0},
      {"events", q.executed()},
      {"config", c.to_json()}};
  if (arrived != workload.total()) throw std::logic_error("not every request arrived");
  return out;
}

}  // namespace kvsim::serving
