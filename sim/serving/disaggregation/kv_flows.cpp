// KV-cache transfers as flows (kv_flows.hpp).
#include "sim/serving/disaggregation/kv_flows.hpp"

#include <numeric>
#include <stdexcept>

namespace kvsim::serving::disaggregation {

void KvFlows::start(const std::vector<int>& from, const std::vector<std::int64_t>& shares,
                    const std::vector<int>& to, double bytes, std::int64_t layers,
                    Duration prefill, InlineCallback done) {
  if ((!shares.empty() && shares.size() != from.size()) || layers < 1) {
    throw std::logic_error("KvFlows: one share per prefill GPU and at least one layer");
  }
  std::uint32_t id;
  if (free_.empty()) {
    id = static_cast<std::uint32_t>(transfers_.size());
    transfers_.emplace_back();
  } else {
    id = free_.back();
    free_.pop_back();
  }
  Transfer& t = transfers_[id];
  t.from = from;
  t.to = to;
  t.per_rank.clear();
  // The same split as kv_transfer(): a GPU's share of the tokens, 1/tp of it to each rank.
  const double total_share =
      shares.empty() ? static_cast<double>(from.size())
                     : static_cast<double>(std::accumulate(shares.begin(), shares.end(),
                                                           std::int64_t{0}));
  for (std::size_t i = 0; i < from.size(); ++i) {
    const double share = shares.empty() ? 1.0 : static_cast<double>(shares[i]);
    t.per_rank.push_back(bytes * share / total_share / static_cast<double>(to.size()));
  }
  t.layers = layers;
  t.sent = 0;
  t.prefill = prefill;
  t.started = network_.queue().now();
  t.pending = 0;
  t.done = done;
  const Duration first{(prefill.count() + layers - 1) / layers};  // layer 1 computed
  if (first == Duration{0}) {
    send_layer(id);
  } else {
    network_.queue().schedule_in(first, Phase::kCompletion, [this, id] { send_layer(id); });
  }
}

// Layer `sent + 1` has been computed: its part of every flow leaves now; the next layer is
// due at started + ceil((k + 1) x P / L).
void KvFlows::send_layer(std::uint32_t id) {
  Transfer& t = transfers_[id];
  const std::int64_t k = ++t.sent;
  const auto layers = static_cast<double>(t.layers);
  for (std::size_t i = 0; i < t.from.size(); ++i) {
    const double part = t.per_rank[i] / layers;
    for (const int gpu : t.to) {
      if (gpu == t.from[i] || part <= 0) continue;  // already there, or nothing to send
      ++t.pending;
      network_.start_between_gpus(t.from[i], gpu, part, [this, id] { landed(id); });
    }
  }
  if (k < t.layers) {
    const SimTime next =
        t.started + Duration{((k + 1) * t.prefill.count() + t.layers - 1) / t.layers};
    network_.queue().schedule_at(next, Phase::kCompletion, [this, id] { send_layer(id); });
  } else if (t.pending == 0) {  // nothing left to land
    network_.queue().schedule_in(Duration{0}, Phase::kCompletion, [this, id] { finish(id); });
  }
}

void KvFlows::landed(std::uint32_t id) {
  Transfer& t = transfers_[id];
  if (--t.pending == 0 && t.sent == t.layers) finish(id);
}

void KvFlows::finish(std::uint32_t id) {
  const InlineCallback done = transfers_[id].done;
  free_.push_back(id);
  done();
}

}  // namespace kvsim::serving::disaggregation
