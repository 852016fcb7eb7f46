#include "sim/prefill/impl/kvr.hpp"

#include <numeric>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/network/channel.hpp"
#include "sim/prefill/process_run.hpp"
#include "sim/prefill/stage_costs.hpp"
#include "sim/prefill/two_level.hpp"

namespace kvsim::prefill {
namespace {

// One KV-Runahead run on the event engine. Each process is a small state machine:
// qkv -> (wait for prefix) -> [send] -> attention -> [send] -> rest -> next layer.
class KvrRun {
 public:
  KvrRun(const PrefillSetup& setup, const Partition& partition, const KvrOptions& options,
         bool record_trace)
      : options_(options),
        model_(*setup.model),
        p_(static_cast<int>(partition.size())),
        layers_(static_cast<int>(setup.model->layers)),
        run_(setup, p_, record_trace) {
    const double kv_token = kv_bytes_per_token_layer(setup);
    std::int64_t prefix = 0;
    for (int i = 0; i < p_; ++i) {
      Process& proc = procs_.emplace_back();
      proc.own = partition[i];
      prefix += partition[i];
      proc.prefix = prefix;
      proc.costs = rank_stage_costs(setup, options.tp, i, proc.own, proc.prefix, Mask::kCausal);
      // Each of the process's tp GPUs sends its heads' share on its own lane.
      proc.send_bytes = (options.relay ? static_cast<double>(prefix) * kv_token
                                       : static_cast<double>(proc.own) * kv_token) /
                        options.tp;
      proc.needed = options.relay ? (i > 0 ? 1 : 0) : i;
      proc.arrived.assign(static_cast<std::size_t>(layers_), 0);
      proc.arrival_activity.assign(static_cast<std::size_t>(layers_), Timeline::kNone);
    }
    // Channels: relay i -> i+1; direct i -> j for every j > i (index i * p + j), one lane per
    // GPU of a process (lane k joins the k-th GPUs of the two TP groups).
    channels_.resize(static_cast<std::size_t>(p_ * p_));
    delivered_.resize(static_cast<std::size_t>(p_ * p_));
    const int tp = options.tp;
    for (int i = 0; i < p_; ++i) {
      for (int j = i + 1; j < p_; ++j) {
        if (options.relay && j != i + 1) continue;
        for (int k = 0; k < tp; ++k) {
          channels_[i * p_ + j].push_back(std::make_unique<net::MessageChannel>(
              run_.net.network, setup.gpus[i * tp + k], setup.gpus[j * tp + k],
              setup.collectives.point_to_point));
        }
      }
    }
  }

  PrefillResult run() {
    for (int i = 0; i < p_; ++i) {
      run_.net.queue.schedule_at(SimTime{0}, Phase::kDecision, [this, i] { start(i); });
    }
    return run_.run();
  }

 private:
  struct Process {
    std::int64_t own = 0;
    std::int64_t prefix = 0;  // S_i
    StageCosts costs;
    double send_bytes = 0;
    int needed = 0;  // prefix messages per layer
    int layer = 0;
    bool qkv_ready = false;
    std::vector<int> arrived;
    std::vector<int> arrival_activity;
  };
  struct Message {
    SimTime sent;
    int after;
    int to;
    int layer;
    int channel;
    int lanes_left;  // lanes still in flight; the message has arrived when none is
  };
  // The last message delivered on a channel: a message queued behind it waited for it.
  struct Delivered {
    SimTime at{0};
    int activity = Timeline::kNone;
  };

  void start(int i) {
    run_.compute(i, procs_[i].costs.embedding, Timeline::kNone, "embedding", -1,
            [this, i] { begin_layer(i); });
  }

  void begin_layer(int i) {
    Process& proc = procs_[i];
    run_.compute(i, proc.costs.qkv, run_.last[i], "qkv", proc.layer, [this, i] {
      procs_[i].qkv_ready = true;
      try_attend(i);
    });
  }

  void on_lane(std::uint32_t m) {
    if (--messages_[m].lanes_left == 0) on_message(m);
  }

  void on_message(std::uint32_t m) {
    const Message msg = messages_[m];
    Delivered& previous = delivered_[msg.channel];
    const bool queued = previous.at > msg.sent;
    const int activity = run_.timeline.message(msg.channel / p_, msg.to,
                                               queued ? previous.at : msg.sent,
                                               run_.net.queue.now(),
                                               queued ? previous.activity : msg.after, "kv",
                                               msg.layer);
    previous = Delivered{run_.net.queue.now(), activity};
    Process& proc = procs_[msg.to];
    ++proc.arrived[msg.layer];
    proc.arrival_activity[msg.layer] = run_.timeline.later(proc.arrival_activity[msg.layer], activity);
    if (msg.layer == proc.layer) try_attend(msg.to);
  }

  void try_attend(int i) {
    Process& proc = procs_[i];
    const int l = proc.layer;
    if (!proc.qkv_ready || proc.arrived[l] < proc.needed) return;
    proc.qkv_ready = false;
    const int after = run_.timeline.later(run_.last[i], proc.arrival_activity[l]);
    if (options_.send_before_attention) send(i, l, after);
    run_.compute(i, proc.costs.attention, after, "attention", l, [this, i] {
      Process& pr = procs_[i];
      if (!options_.send_before_attention) send(i, pr.layer, run_.last[i]);
      run_.compute(i, pr.costs.rest_of(model_, pr.layer), run_.last[i], "rest", pr.layer,
                   [this, i] { end_layer(i); });
    });
  }

  void send(int i, int layer, int after) {
    const int first = i + 1;
    const int last = options_.relay ? std::min(i + 1, p_ - 1) : p_ - 1;
    for (int j = first; j <= last; ++j) {
      const auto m = static_cast<std::uint32_t>(messages_.size());
      auto& lanes = channels_[i * p_ + j];
      messages_.push_back(Message{run_.net.queue.now(), after, j, layer, i * p_ + j,
                                  static_cast<int>(lanes.size())});
      for (auto& lane : lanes) lane->send(procs_[i].send_bytes, [this, m] { on_lane(m); });
    }
  }

  void end_layer(int i) {
    Process& proc = procs_[i];
    if (++proc.layer < layers_) {
      begin_layer(i);
      return;
    }
    if (i != p_ - 1) return;  // only the last process holds the whole cache
    run_.compute(i, proc.costs.head, run_.last[i], "lm_head", -1, [this, i] {
      run_.first_token(i);
    });
  }

  KvrOptions options_;
  const LlmSpec& model_;  // which layers are dense and which MoE (StageCosts::rest_of)
  int p_;
  int layers_;
  ProcessRun run_;
  std::vector<Process> procs_;
  std::vector<std::vector<std::unique_ptr<net::MessageChannel>>> channels_;
  std::vector<Message> messages_;
  std::vector<Delivered> delivered_;
};

}  // namespace

void check_partition(const Partition& partition, std::int64_t context_tokens, int processes) {
  if (static_cast<int>(partition.size()) != processes) {
    throw std::invalid_argument(fmt::format("partition has {} parts for {} processes",
                                            partition.size(), processes));
  }
  std::int64_t sum = 0;
  for (const std::int64_t c : partition) {
    if (c < 1) throw std::invalid_argument("every process needs at least one token");
    sum += c;
  }
  if (sum != context_tokens) {
    throw std::invalid_argument(
        fmt::format("partition sums to {}, not the context length {}", sum, context_tokens));
  }
}

PrefillResult simulate_kvr(const PrefillSetup& setup, const Partition& partition,
                           const KvrOptions& options, bool record_trace) {
  check_partition(partition, setup.context_tokens, sequence_ranks(setup, options.tp));
  KvrRun run(setup, partition, options, record_trace);
  PrefillResult out = run.run();
  expand_rank_times(out, options.tp);
  out.partition = partition;
  return out;
}

Duration kvr_closed_form_ttft(const PrefillSetup& setup, const Partition& partition,
                              bool send_before_attention, int tp) {
  const int p = static_cast<int>(partition.size());
  const double kv_token = kv_bytes_per_token_layer(setup);
  std::vector<StageCosts> costs;
  std::vector<Duration> transfer;  // i -> i+1: the slowest lane's message time
  std::int64_t prefix = 0;
  for (int i = 0; i < p; ++i) {
    prefix += partition[i];
    costs.push_back(rank_stage_costs(setup, tp, i, partition[i], prefix, Mask::kCausal));
    if (i + 1 == p) break;
    Duration slowest{0};
    for (int k = 0; k < tp; ++k) {
      const net::Route& r = setup.topology->gpu_route(setup.gpus[i * tp + k],
                                                      setup.gpus[(i + 1) * tp + k]);
      slowest = std::max(slowest, net::message_time(r, static_cast<double>(prefix) * kv_token / tp,
                                                    setup.collectives.point_to_point));
    }
    transfer.push_back(slowest);
  }
  std::vector<SimTime> done(p);        // D_i(l-1): end of the previous layer
  std::vector<SimTime> sent(p);        // when i sent its layer-l prefix
  std::vector<SimTime> channel_free(p, SimTime{0});  // channel i -> i+1 idle from
  for (int i = 0; i < p; ++i) done[i] = SimTime{0} + costs[i].embedding;
  for (std::int64_t l = 0; l < setup.model->layers; ++l) {
    for (int i = 0; i < p; ++i) {
      SimTime ready = done[i] + costs[i].qkv;
      if (i > 0) {
        const SimTime start = std::max(sent[i - 1], channel_free[i - 1]);
        const SimTime arrival = start + transfer[i - 1];
        channel_free[i - 1] = arrival;
        ready = std::max(ready, arrival);
      }
      sent[i] = send_before_attention ? ready : ready + costs[i].attention;
      done[i] = ready + costs[i].attention + costs[i].rest_of(*setup.model, l);
    }
  }
  return done[p - 1] + costs[p - 1].head;
}

std::string closed_form_obstacle(const PrefillSetup& setup, const KvrOptions& options) {
  if (!options.relay) return "direct sends share each sender's links";
  if (!setup.background.empty()) return "background traffic competes for bandwidth";
  std::set<int> used;
  const int tp = options.tp;
  for (int i = 0; i + 1 < sequence_ranks(setup, tp); ++i) {
    for (int k = 0; k < tp; ++k) {
      const auto& route = setup.topology->gpu_route(setup.gpus[i * tp + k],
                                                    setup.gpus[(i + 1) * tp + k]);
      for (const int l : route.links) {
        if (!used.insert(l).second) return "two neighbour routes share a link";
      }
    }
  }
  return "";
}

KvrStrategy::KvrStrategy(std::unique_ptr<Partitioner> partitioner, KvrOptions options)
    : partitioner_(std::move(partitioner)), options_(options) {}

Duration KvrStrategy::evaluate(const PrefillSetup& setup, const Partition& partition) const {
  // Where nothing competes for the chain's links the closed form equals the flow simulation
  // exactly (tests check this), at a tenth of the cost: the search uses it there.
  if (options_.closed_form_network || closed_form_obstacle(setup, options_).empty()) {
    check_partition(partition, setup.context_tokens, sequence_ranks(setup, options_.tp));
    return kvr_closed_form_ttft(setup, partition, options_.send_before_attention, options_.tp);
  }
  return simulate_kvr(setup, partition, options_, false).ttft;
}

PartitionQuery KvrStrategy::query(const PrefillSetup& setup) const {
  PartitionQuery q;
  q.context_tokens = setup.context_tokens;
  q.processes = sequence_ranks(setup, options_.tp);
  q.setup = &setup;
  q.evaluate = [this, &setup](const Partition& candidate) { return evaluate(setup, candidate); };
  q.capacity = setup.memory;
  q.memory_plan = [this, &setup](const Partition& candidate) {
    return kvr_memory_plan(setup, candidate, options_.tp);
  };
  return q;
}

PrefillResult KvrStrategy::run(const PrefillSetup& setup, bool record_trace) const {
  const Partition partition = partitioner_->partition(query(setup));
  PrefillResult out = simulate_kvr(setup, partition, options_, record_trace);
  out.label = label();
  return out;
}

std::string KvrStrategy::default_label() const {
  return "kvr/" + partitioner_->name() + (options_.tp > 1 ? fmt::format("/tp{}", options_.tp) : "");
}

std::string KvrStrategy::unsupported(const LlmSpec& model, std::int64_t gpus) const {
  return two_level_obstacle(model, gpus, options_.tp, "kvr");
}

Json KvrStrategy::to_json() const {
  Json j{{"type", "kvr"},
              {"partitioner", partitioner_->to_json()},
              {"send", options_.send_before_attention ? "before-attention" : "after-attention"},
              {"routing", options_.relay ? "relay" : "direct"},
              {"network", options_.closed_form_network ? "closed-form" : "flows"}};
  if (options_.tp > 1) j["tp"] = options_.tp;
  return j;
}

}  // namespace kvsim::prefill
