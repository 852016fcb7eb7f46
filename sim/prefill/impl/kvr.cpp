#include "sim/prefill/impl/kvr.hpp"

#include <numeric>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/network/channel.hpp"
#include "sim/prefill/process_run.hpp"
#include "sim/prefill/stage_costs.hpp"

namespace kvsim::prefill {
namespace {

// One KV-Runahead run on the event engine. Each process is a small state machine:
// qkv -> (wait for prefix) -> [send] -> attention -> [send] -> rest -> next layer.
class KvrRun {
 public:
  KvrRun(const PrefillSetup& setup, const Partition& partition, const KvrOptions& options,
         bool record_trace)
      : options_(options),
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
      proc.costs = stage_costs(setup, proc.own, proc.prefix, Mask::kCausal);
      proc.send_bytes = options.relay ? static_cast<double>(prefix) * kv_token
                                      : static_cast<double>(proc.own) * kv_token;
      proc.needed = options.relay ? (i > 0 ? 1 : 0) : i;
      proc.arrived.assign(static_cast<std::size_t>(layers_), 0);
      proc.arrival_activity.assign(static_cast<std::size_t>(layers_), Timeline::kNone);
    }
    // Channels: relay i -> i+1; direct i -> j for every j > i (index i * p + j).
    channels_.resize(static_cast<std::size_t>(p_ * p_));
    delivered_.resize(static_cast<std::size_t>(p_ * p_));
    for (int i = 0; i < p_; ++i) {
      for (int j = i + 1; j < p_; ++j) {
        if (options.relay && j != i + 1) continue;
        channels_[i * p_ + j] = std::make_unique<net::MessageChannel>(
            run_.net.network, setup.gpus[i], setup.gpus[j], setup.collectives.point_to_point);
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
      run_.compute(i, pr.costs.rest, run_.last[i], "rest", pr.layer, [this, i] { end_layer(i); });
    });
  }

  void send(int i, int layer, int after) {
    const int first = i + 1;
    const int last = options_.relay ? std::min(i + 1, p_ - 1) : p_ - 1;
    for (int j = first; j <= last; ++j) {
      const auto m = static_cast<std::uint32_t>(messages_.size());
      messages_.push_back(Message{run_.net.queue.now(), after, j, layer, i * p_ + j});
      channels_[i * p_ + j]->send(procs_[i].send_bytes, [this, m] { on_message(m); });
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
  int p_;
  int layers_;
  ProcessRun run_;
  std::vector<Process> procs_;
  std::vector<std::unique_ptr<net::MessageChannel>> channels_;
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
  check_partition(partition, setup.context_tokens, static_cast<int>(setup.gpus.size()));
  KvrRun run(setup, partition, options, record_trace);
  PrefillResult out = run.run();
  out.partition = partition;
  return out;
}

Duration kvr_closed_form_ttft(const PrefillSetup& setup, const Partition& partition,
                              bool send_before_attention) {
  const int p = static_cast<int>(partition.size());
  const double kv_token = kv_bytes_per_token_layer(setup);
  std::vector<StageCosts> costs;
  std::vector<double> bytes;
  std::vector<const net::Route*> routes;
  std::int64_t prefix = 0;
  for (int i = 0; i < p; ++i) {
    prefix += partition[i];
    costs.push_back(stage_costs(setup, partition[i], prefix, Mask::kCausal));
    bytes.push_back(static_cast<double>(prefix) * kv_token);
    if (i + 1 < p) routes.push_back(&setup.topology->gpu_route(setup.gpus[i], setup.gpus[i + 1]));
  }
  std::vector<SimTime> done(p);        // D_i(l-1): end of the previous layer
  std::vector<SimTime> sent(p);        // when i sent its layer-l prefix
  std::vector<SimTime> channel_free(p, SimTime{0});  // channel i -> i+1 idle from
  for (int i = 0; i < p; ++i) done[i] = SimTime{0} + costs[i].embedding;
  for (std::int64_t l = 0; l < setup.model->layers; ++l) {
    for (int i = 0; i < p; ++i) {
      SimTime ready = done[i] + costs[i].qkv;
      if (i > 0) {
        const net::Route& r = *routes[i - 1];
        const SimTime start = std::max(sent[i - 1], channel_free[i - 1]);
        const SimTime arrival =
            start + net::message_time(r, bytes[i - 1], setup.collectives.point_to_point);
        channel_free[i - 1] = arrival;
        ready = std::max(ready, arrival);
      }
      sent[i] = send_before_attention ? ready : ready + costs[i].attention;
      done[i] = ready + costs[i].attention + costs[i].rest;
    }
  }
  return done[p - 1] + costs[p - 1].head;
}

std::string closed_form_obstacle(const PrefillSetup& setup, const KvrOptions& options) {
  if (!options.relay) return "direct sends share each sender's links";
  if (!setup.background.empty()) return "background traffic competes for bandwidth";
  std::set<int> used;
  for (std::size_t i = 0; i + 1 < setup.gpus.size(); ++i) {
    for (const int l : setup.topology->gpu_route(setup.gpus[i], setup.gpus[i + 1]).links) {
      if (!used.insert(l).second) return "two neighbour routes share a link";
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
    check_partition(partition, setup.context_tokens, static_cast<int>(setup.gpus.size()));
    return kvr_closed_form_ttft(setup, partition, options_.send_before_attention);
  }
  return simulate_kvr(setup, partition, options_, false).ttft;
}

PartitionQuery KvrStrategy::query(const PrefillSetup& setup) const {
  PartitionQuery q;
  q.context_tokens = setup.context_tokens;
  q.processes = static_cast<int>(setup.gpus.size());
  q.setup = &setup;
  q.evaluate = [this, &setup](const Partition& candidate) { return evaluate(setup, candidate); };
  q.capacity = setup.memory;
  q.memory_plan = [&setup](const Partition& candidate) {
    return kvr_memory_plan(setup, candidate);
  };
  return q;
}

PrefillResult KvrStrategy::run(const PrefillSetup& setup, bool record_trace) const {
  const Partition partition = partitioner_->partition(query(setup));
  PrefillResult out = simulate_kvr(setup, partition, options_, record_trace);
  out.label = label();
  return out;
}

Json KvrStrategy::to_json() const {
  return Json{{"type", "kvr"},
              {"partitioner", partitioner_->to_json()},
              {"send", options_.send_before_attention ? "before-attention" : "after-attention"},
              {"routing", options_.relay ? "relay" : "direct"},
              {"network", options_.closed_form_network ? "closed-form" : "flows"}};
}

}  // namespace kvsim::prefill
