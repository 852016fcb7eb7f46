#include "sim/prefill/impl/ring.hpp"

#include <map>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>

#include "sim/network/channel.hpp"
#include "sim/prefill/process_run.hpp"
#include "sim/prefill/stage_costs.hpp"
#include "sim/prefill/two_level.hpp"

namespace kvsim::prefill {
namespace {

// Bytes per token of a whole layer's queries, and of one partial attention output (O in the
// activation format plus an fp32 log-sum-exp per head).
double query_bytes(const PrefillSetup& s) {
  return static_cast<double>(s.model->heads * s.model->head_dim) *
         bytes_of(s.options.precision.activations);
}
double partial_bytes(const PrefillSetup& s) {
  return query_bytes(s) + static_cast<double>(s.model->heads) * 4.0;
}

// What one rank does per layer, priced once.
struct RankWork {
  StageCosts costs;               // embedding, qkv, rest (with TP all-reduces), head
  std::vector<Duration> step;     // attention at each ring step
  std::vector<double> lane_bytes; // bytes per lane of the block it forwards after step s
  Duration merge{0};
};

std::vector<RankWork> plan_ranks(const PrefillSetup& setup, const RingOptions& o, RingVariant v,
                                 const RingShards& shards) {
  const int n = shards.ranks();
  const PrefillSetup shard = rank_setup(setup, o.tp);
  std::map<std::tuple<std::int64_t, std::int64_t, Mask>, Duration> priced;
  const auto block_time = [&](int q_rank, int kv_rank) {
    Duration d{0};
    for (const AttentionBlock& b : ring_blocks(shards, q_rank, kv_rank)) {
      const auto key = std::make_tuple(b.q_tokens, b.kv_tokens, b.mask);
      auto it = priced.find(key);
      if (it == priced.end()) {
        it = priced.emplace(key, attention_time(shard, b.q_tokens, b.kv_tokens, b.mask)).first;
      }
      d += it->second;
    }
    return d;
  };
  std::vector<RankWork> out(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) {
    RankWork& w = out[r];
    const std::int64_t q = shards.new_tokens(r);
    w.costs = rank_stage_costs(setup, o.tp, r, std::max<std::int64_t>(q, 1), std::max<std::int64_t>(q, 1),
                               Mask::kCausal);
    for (int s = 0; s < n; ++s) {
      const int src = ((r - s) % n + n) % n;  // whose block rank r holds at step s
      const bool kv = v == RingVariant::kPassKv;
      w.step.push_back(kv ? block_time(r, src) : block_time(src, r));
      w.lane_bytes.push_back(
          (kv ? static_cast<double>(shards.kv_tokens(src)) * kv_bytes_per_token_layer(setup)
              : static_cast<double>(shards.new_tokens(src)) * query_bytes(setup)) /
          o.tp);
    }
    w.merge = n > 1 ? merge_time(shard, q, n) : Duration{0};
  }
  return out;
}

// The event-driven ring: each rank a small state machine per layer,
// qkv -> N x (send held block, attention on it) -> [all-to-all] -> merge -> rest.
class RingRun {
 public:
  RingRun(const PrefillSetup& setup, const RingOptions& o, RingVariant v, const RingShards& shards,
          bool record_trace)
      : tp_(o.tp),
        pass_q_(v == RingVariant::kPassQ),
        n_(shards.ranks()),
        layers_(static_cast<int>(setup.model->layers)),
        head_rank_(shards.last_token_rank()),
        work_(plan_ranks(setup, o, v, shards)),
        run_(setup, n_, record_trace),
        ranks_(static_cast<std::size_t>(n_)),
        all_to_all_bytes_(static_cast<double>(setup.context_tokens -
                                              ring_cached_tokens(setup.context_tokens,
                                                                 o.cached_share)) *
                          partial_bytes(setup) / o.tp) {
    for (int r = 0; r < n_; ++r) {
      ranks_[r].arrived.assign(static_cast<std::size_t>(2 * n_), 0);
      ranks_[r].arrival.assign(static_cast<std::size_t>(2 * n_), Timeline::kNone);
      for (int k = 0; k < tp_ && n_ > 1; ++k) {
        ranks_[r].lanes.push_back(std::make_unique<net::MessageChannel>(
            run_.net.network, setup.gpus[r * tp_ + k], setup.gpus[((r + 1) % n_) * tp_ + k],
            setup.collectives.point_to_point));
      }
    }
    for (int k = 0; k < tp_; ++k) lane_gpus_.push_back(lane_gpus(setup, tp_, k));
  }

  PrefillResult run() {
    for (int r = 0; r < n_; ++r) {
      run_.net.queue.schedule_at(SimTime{0}, Phase::kDecision, [this, r] {
        run_.compute(r, work_[r].costs.embedding, Timeline::kNone, "embedding", -1,
                     [this, r] { begin_layer(r); });
      });
    }
    return run_.run();
  }

 private:
  struct Rank {
    int layer = 0;
    int step = 0;
    bool qkv_ready = false;
    bool busy = false;
    // Lanes delivered and the activity that delivered them, per (layer parity, step): no rank
    // is ever more than one layer ahead of another (finishing a layer needs every rank's K/V or
    // Q of that layer, which comes round the whole ring), so two layers' slots suffice.
    std::vector<int> arrived;
    std::vector<int> arrival;
    std::vector<std::unique_ptr<net::MessageChannel>> lanes;  // to the next rank
  };
  struct Message {
    SimTime sent;
    int after;
    int from;
    int layer;
    int step;
  };

  void begin_layer(int r) {
    run_.compute(r, work_[r].costs.qkv, run_.last[r], "qkv", ranks_[r].layer, [this, r] {
      ranks_[r].qkv_ready = true;
      try_step(r);
    });
  }

  void try_step(int r) {
    Rank& k = ranks_[r];
    const int s = k.step;
    const std::size_t slot = static_cast<std::size_t>((k.layer % 2) * n_ + s);
    if (k.busy || (s == 0 ? !k.qkv_ready : k.arrived[slot] < tp_)) return;
    k.busy = true;
    k.qkv_ready = false;
    const int after = run_.timeline.later(run_.last[r], s == 0 ? Timeline::kNone : k.arrival[slot]);
    k.arrived[slot] = 0;  // free for the layer after next
    if (s + 1 < n_) send(r, s + 1, after);  // the held block goes on while it is used
    run_.compute(r, work_[r].step[s], after, pass_q_ ? "ring attention (q)" : "ring attention",
                 k.layer, [this, r] {
                   ranks_[r].busy = false;
                   if (++ranks_[r].step < n_) {
                     try_step(r);
                   } else {
                     after_ring(r);
                   }
                 });
  }

  // Rank r forwards the block it holds to r + 1, which uses it at step s.
  void send(int r, int s, int after) {
    const auto m = static_cast<std::uint32_t>(messages_.size());
    messages_.push_back(Message{run_.net.queue.now(), after, r, ranks_[r].layer, s});
    for (auto& lane : ranks_[r].lanes) {
      lane->send(work_[r].lane_bytes[s - 1], [this, m] { on_lane(m); });
    }
  }

  void on_lane(std::uint32_t m) {
    const Message msg = messages_[m];
    const int to = (msg.from + 1) % n_;
    Rank& k = ranks_[to];
    const std::size_t slot = static_cast<std::size_t>((msg.layer % 2) * n_ + msg.step);
    if (++k.arrived[slot] < tp_) return;
    k.arrival[slot] = run_.timeline.message(msg.from, to, msg.sent, run_.net.queue.now(), msg.after,
                                            pass_q_ ? "q" : "kv", msg.layer);
    if (msg.layer == k.layer && msg.step == k.step) try_step(to);
  }

  void after_ring(int r) {
    if (!pass_q_ || n_ == 1) {
      finish_layer(r, run_.last[r]);
      return;
    }
    // pass-q: every rank holds partial outputs of every rank's queries; an all-to-all (one per
    // lane) returns them to their owners once all ranks are here.
    a2a_after_ = run_.timeline.later(a2a_after_, run_.last[r]);
    if (++a2a_arrived_ < n_) return;
    a2a_arrived_ = 0;
    a2a_start_ = run_.net.queue.now();
    a2a_left_ = tp_;
    for (const auto& lane : lane_gpus_) {
      run_.net.collectives.start(net::CollectiveKind::kAllToAll, lane, all_to_all_bytes_, [this] {
        if (--a2a_left_ > 0) return;
        const int done = run_.timeline.communication(a2a_start_, run_.net.queue.now(), a2a_after_,
                                                     "all-to-all partial outputs",
                                                     ranks_[0].layer);
        a2a_after_ = Timeline::kNone;
        for (int q = 0; q < n_; ++q) finish_layer(q, run_.timeline.later(run_.last[q], done));
      });
    }
  }

  void finish_layer(int r, int after) {
    run_.compute(r, work_[r].merge, after, "merge", ranks_[r].layer, [this, r] {
      run_.compute(r, work_[r].costs.rest, run_.last[r], "rest", ranks_[r].layer,
                   [this, r] { end_layer(r); });
    });
  }

  void end_layer(int r) {
    Rank& k = ranks_[r];
    k.step = 0;
    if (++k.layer < layers_) {
      begin_layer(r);
      return;
    }
    if (r != head_rank_) return;
    run_.compute(r, work_[r].costs.head, run_.last[r], "lm_head", -1,
                 [this, r] { run_.first_token(r); });
  }

  int tp_;
  bool pass_q_;
  int n_;
  int layers_;
  int head_rank_;
  std::vector<RankWork> work_;
  ProcessRun run_;
  std::vector<Rank> ranks_;
  std::vector<Message> messages_;
  std::vector<std::vector<int>> lane_gpus_;
  double all_to_all_bytes_;
  int a2a_arrived_ = 0;
  int a2a_left_ = 0;
  int a2a_after_ = Timeline::kNone;
  SimTime a2a_start_{0};
};

RingShards shards_of(const PrefillSetup& setup, const RingOptions& o) {
  const std::int64_t cached = ring_cached_tokens(setup.context_tokens, o.cached_share);
  const int n = sequence_ranks(setup, o.tp);
  const std::int64_t fresh = setup.context_tokens - cached;
  const int chunks = o.sharding == RingSharding::kLoadBalanced ? 2 * n : n;
  if (fresh < chunks) {
    throw std::invalid_argument(fmt::format(
        "ring attention cuts the {} new tokens into {} chunks ({} sequence ranks{}) and needs at "
        "least one token per chunk; use a longer prompt, a smaller cached_share or fewer ranks",
        fresh, chunks, n, o.sharding == RingSharding::kLoadBalanced ? ", two chunks each" : ""));
  }
  return ring_shards(fresh, cached, n, o.sharding);
}

}  // namespace

std::int64_t ring_cached_tokens(std::int64_t context_tokens, double cached_share) {
  return static_cast<std::int64_t>(static_cast<double>(context_tokens) * cached_share);
}

RingVariant ring_variant(const RingOptions& o, const LlmSpec& model, std::int64_t context) {
  if (o.variant != RingVariant::kAuto) return o.variant;
  const std::int64_t cached = ring_cached_tokens(context, o.cached_share);
  const std::int64_t fresh = context - cached;
  // Per step, pass-q moves T/N tokens of N_H heads, pass-kv (T+P)/N tokens of 2 N_KV heads.
  return fresh * model.heads < 2 * context * model.kv_heads ? RingVariant::kPassQ
                                                            : RingVariant::kPassKv;
}

Duration attention_time(const PrefillSetup& setup, std::int64_t q, std::int64_t kv, Mask mask) {
  std::vector<Operation> ops;
  for (const Operation& op : prefill_layer(*setup.model, PrefillChunk{q, kv, mask}, setup.options)) {
    if (op.stage == LayerStage::kAttention) ops.push_back(op);
  }
  return price(setup, ops);
}

Duration merge_time(const PrefillSetup& setup, std::int64_t q, int partials) {
  if (partials < 2 || q == 0) return Duration{0};
  const double one = static_cast<double>(q) * partial_bytes(setup) /
                     static_cast<double>(setup.options.tensor_parallel);
  Operation op;
  op.kind = OpKind::kResidualAdd;
  op.op_class = OpClass::kElementwise;
  op.stage = LayerStage::kAttention;
  op.dtype = setup.options.precision.activations;
  op.rows = q;
  op.flops = 4.0 * one / bytes_of(setup.options.precision.activations);  // rescale, add
  op.bytes_read = 2.0 * one * (partials - 1);
  op.bytes_written = one * (partials - 1);
  return price(setup, std::span(&op, 1));
}

std::string RingStrategy::default_label() const {
  std::string label = "ring/";
  label += options_.variant == RingVariant::kPassKv  ? "pass-kv"
           : options_.variant == RingVariant::kPassQ ? "pass-q"
                                                     : "auto";
  if (options_.sharding == RingSharding::kContiguous) label += "/contiguous";
  if (options_.tp > 1) label += fmt::format("/tp{}", options_.tp);
  return label;
}

PrefillResult RingStrategy::run(const PrefillSetup& setup, bool record_trace) const {
  const RingShards shards = shards_of(setup, options_);
  const RingVariant v = ring_variant(options_, *setup.model, setup.context_tokens);
  RingRun run(setup, options_, v, shards, record_trace);
  PrefillResult out = run.run();
  expand_rank_times(out, options_.tp);
  out.label = label();
  for (int r = 0; r < shards.ranks(); ++r) out.partition.push_back(shards.new_tokens(r));
  return out;
}

MemoryPlan RingStrategy::memory_plan(const PrefillSetup& setup) const {
  const RingShards shards = shards_of(setup, options_);
  const bool pass_q = ring_variant(options_, *setup.model, setup.context_tokens) ==
                      RingVariant::kPassQ;
  std::int64_t largest_kv = 0;
  std::int64_t largest_q = 0;
  std::int64_t fresh = 0;
  for (int r = 0; r < shards.ranks(); ++r) {
    largest_kv = std::max(largest_kv, shards.kv_tokens(r));
    largest_q = std::max(largest_q, shards.new_tokens(r));
    fresh += shards.new_tokens(r);
  }
  // One layer's blocks in flight: the one computed on and the one arriving; pass-q also holds
  // the partial outputs of every rank's queries until the all-to-all.
  const double extra =
      (pass_q ? 2.0 * static_cast<double>(largest_q) * query_bytes(setup) +
                    static_cast<double>(fresh) * partial_bytes(setup)
              : 2.0 * static_cast<double>(largest_kv) * kv_bytes_per_token_layer(setup)) /
      options_.tp;
  MemoryPlan plan;
  for (int r = 0; r < shards.ranks(); ++r) {
    add_rank_memory(plan, setup, options_.tp, r, shards.new_tokens(r), shards.kv_tokens(r), extra);
  }
  return plan;
}

std::string RingStrategy::unsupported(const LlmSpec& model, std::int64_t gpus) const {
  // Each layer moves N (N - 1) blocks; past this many ranks a run would take hours.
  constexpr std::int64_t kMaxRanks = 256;
  if (gpus % options_.tp == 0 && gpus / options_.tp > kMaxRanks) {
    return fmt::format("ring attention over {} sequence ranks is more than kvsim simulates (at "
                       "most {}: every layer moves N(N-1) blocks); use \"tp\" to make ranks of "
                       "several GPUs",
                       gpus / options_.tp, kMaxRanks);
  }
  return two_level_obstacle(model, gpus, options_.tp, "ring");
}

Json RingStrategy::to_json() const {
  Json j{{"type", "ring"},
         {"variant", options_.variant == RingVariant::kPassKv  ? "pass-kv"
                     : options_.variant == RingVariant::kPassQ ? "pass-q"
                                                               : "auto"},
         {"sharding", options_.sharding == RingSharding::kLoadBalanced ? "load-balanced"
                                                                        : "contiguous"},
         {"tp", options_.tp},
         {"cached_share", options_.cached_share}};
  return j;
}

}  // namespace kvsim::prefill
