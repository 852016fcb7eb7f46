#include "sim/network/collectives.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace kvsim::net {
namespace {

int tree_depth(int rank) {
  int depth = 0;
  for (int r = rank; r > 0; r = (r - 1) / 2) ++depth;
  return depth;
}

// Binary tree over ranks (parent of r is (r-1)/2): one step per level, deepest first when
// reducing, root first when broadcasting.
std::vector<Step> tree_steps(int ranks, double bytes, bool upward) {
  const int max_depth = tree_depth(ranks - 1);
  std::vector<Step> steps;
  for (int level = 1; level <= max_depth; ++level) {
    const int depth = upward ? max_depth - level + 1 : level;
    Step step;
    for (int r = 1; r < ranks; ++r) {
      if (tree_depth(r) != depth) continue;
      const int parent = (r - 1) / 2;
      step.push_back(upward ? Transfer{r, parent, bytes} : Transfer{parent, r, bytes});
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

std::vector<Step> ring_steps(int ranks, int count, double piece, int shift_growth) {
  std::vector<Step> steps;
  for (int s = 0; s < count; ++s) {
    const int shift = shift_growth != 0 ? s + 1 : 1;  // all-to-all shifts by one more each step
    Step step;
    for (int r = 0; r < ranks; ++r) step.push_back(Transfer{r, (r + shift) % ranks, piece});
    steps.push_back(std::move(step));
  }
  return steps;
}

Step all_pairs(int ranks, double piece) {
  Step step;
  for (int r = 0; r < ranks; ++r) {
    for (int q = 0; q < ranks; ++q) {
      if (q != r) step.push_back(Transfer{r, q, piece});
    }
  }
  return step;
}

}  // namespace

std::string to_string(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::kAllGather: return "all-gather";
    case CollectiveKind::kReduceScatter: return "reduce-scatter";
    case CollectiveKind::kAllReduce: return "all-reduce";
    case CollectiveKind::kAllToAll: return "all-to-all";
    case CollectiveKind::kBroadcast: return "broadcast";
  }
  return "?";
}

std::string to_string(CollectiveAlgorithm algorithm) {
  switch (algorithm) {
    case CollectiveAlgorithm::kRing: return "ring";
    case CollectiveAlgorithm::kTree: return "tree";
    case CollectiveAlgorithm::kDirect: return "direct";
    case CollectiveAlgorithm::kMesh: return "mesh";
  }
  return "?";
}

std::vector<Step> plan_collective(CollectiveKind kind, CollectiveAlgorithm algorithm, int p,
                                  double bytes) {
  if (p < 1) throw std::invalid_argument("a collective needs at least one participant");
  if (p == 1) return {};
  const double piece = bytes / p;
  using A = CollectiveAlgorithm;
  using K = CollectiveKind;
  if (algorithm == A::kTree) {
    if (kind == K::kAllReduce) {
      std::vector<Step> steps = tree_steps(p, bytes, true);
      std::vector<Step> down = tree_steps(p, bytes, false);
      steps.insert(steps.end(), down.begin(), down.end());
      return steps;
    }
    if (kind == K::kBroadcast) return tree_steps(p, bytes, false);
    throw std::invalid_argument(fmt::format("the tree algorithm has no {} (use ring or direct)",
                                            to_string(kind)));
  }
  if (algorithm == A::kMesh) {
    if (kind == K::kBroadcast) return plan_collective(kind, A::kDirect, p, bytes);
    // Reduce-scatter then all-gather, each one step of S/p to every peer over its own link:
    // 2 x (latency + S/p / link) on a mesh (Patarasuk & Yuan's bound with p - 1 links per GPU).
    if (kind == K::kAllReduce) return {all_pairs(p, piece), all_pairs(p, piece)};
    return {all_pairs(p, piece)};
  }
  switch (kind) {
    case K::kAllGather:
    case K::kReduceScatter:
      return algorithm == A::kRing ? ring_steps(p, p - 1, piece, 0)
                                   : std::vector<Step>{all_pairs(p, piece)};
    case K::kAllReduce:
      // Ring: reduce-scatter then all-gather, 2(p-1) steps of S/p (Patarasuk & Yuan 2009).
      // Direct: one-shot, every rank sends its whole buffer to every other rank.
      return algorithm == A::kRing ? ring_steps(p, 2 * (p - 1), piece, 0)
                                   : std::vector<Step>{all_pairs(p, bytes)};
    case K::kAllToAll:
      return algorithm == A::kRing ? ring_steps(p, p - 1, piece, 1)
                                   : std::vector<Step>{all_pairs(p, piece)};
    case K::kBroadcast: {
      if (algorithm == A::kRing) {
        throw std::invalid_argument("broadcast has tree and direct algorithms, not ring");
      }
      Step step;
      for (int r = 1; r < p; ++r) step.push_back(Transfer{0, r, bytes});
      return {step};
    }
  }
  return {};
}

Duration collective_time(const Topology& topology, const std::vector<int>& gpus,
                         CollectiveKind kind, CollectiveAlgorithm algorithm, double bytes,
                         const Protocol& protocol) {
  const int p = static_cast<int>(gpus.size());
  const std::vector<Step> steps = plan_collective(kind, algorithm, p, bytes);
  Duration total = protocol.fixed_cost(static_cast<int>(steps.size()), p);
  for (const Step& step : steps) {
    Duration slowest{0};
    for (const Transfer& t : step) {
      const Route& r = topology.gpu_route(gpus[t.from], gpus[t.to]);
      const double efficiency = protocol.efficiency_on(r.bottleneck_kind);
      slowest = std::max(slowest,
                         r.latency + from_seconds_ceil(t.bytes / efficiency / r.bottleneck));
    }
    total += slowest;
  }
  return total;
}

const Protocol& choose_protocol(const Topology& topology, const std::vector<int>& gpus,
                                CollectiveKind kind, const CollectiveConfig& config,
                                double bytes) {
  const Protocol* best = &config.protocols.front();
  if (config.protocols.size() == 1) return *best;
  Duration best_time = Duration::max();
  for (const Protocol& p : config.protocols) {
    const Duration t = collective_time(topology, gpus, kind, config.algorithm, bytes, p);
    if (t < best_time) {
      best_time = t;
      best = &p;
    }
  }
  return *best;
}

void CollectiveEngine::start(CollectiveKind kind, const std::vector<int>& gpus, double bytes,
                             InlineCallback done) {
  const std::uint32_t id = prepare(kind, gpus, bytes, done);
  if (running_[id].steps.empty()) {
    network_.queue().schedule_in(Duration{0}, Phase::kCompletion, [this, id] {
      const InlineCallback finished = running_[id].done;
      free_.push_back(id);
      finished();
    });
    return;
  }
  schedule_step(id);
}

// A running collective's plan, at its first step.
std::uint32_t CollectiveEngine::prepare(CollectiveKind kind, const std::vector<int>& gpus,
                                        double bytes, InlineCallback done) {
  std::uint32_t id;
  if (free_.empty()) {
    id = static_cast<std::uint32_t>(running_.size());
    running_.emplace_back();
  } else {
    id = free_.back();
    free_.pop_back();
  }
  Running& c = running_[id];
  c.steps = plan_collective(kind, config_.algorithm, static_cast<int>(gpus.size()), bytes);
  c.gpus = gpus;
  c.protocol = &choose_protocol(network_.topology(), gpus, kind, config_, bytes);
  c.fixed = c.protocol->fixed_cost(static_cast<int>(c.steps.size()), static_cast<int>(gpus.size()));
  c.step = 0;
  c.pending = 0;
  c.done = done;
  return id;
}

// What a transfer puts on the wire: its bytes / the efficiency of its route's bottleneck kind.
double CollectiveEngine::wire_bytes(const Running& c, const Transfer& t) const {
  return t.bytes /
         c.protocol->efficiency_between(network_.topology(), c.gpus[t.from], c.gpus[t.to]);
}

// Step s of n waits F(s+1)/n - Fs/n of the fixed cost F (whole ns): the waits sum to exactly
// F, and are each step_latency when F = n x step_latency.
void CollectiveEngine::schedule_step(std::uint32_t id) {
  const Running& c = running_[id];
  const auto n = static_cast<std::int64_t>(c.steps.size());
  const auto s = static_cast<std::int64_t>(c.step);
  const std::int64_t f = c.fixed.count();
  const Duration wait(f * (s + 1) / n - f * s / n);
  network_.queue().schedule_in(wait, Phase::kDecision, [this, id] { begin_step(id); });
}

void CollectiveEngine::begin_step(std::uint32_t id) {
  Running& c = running_[id];
  const Step& step = c.steps[c.step];
  c.pending = static_cast<int>(step.size());
  for (const Transfer& t : step) {
    network_.start_between_gpus(c.gpus[t.from], c.gpus[t.to], wire_bytes(c, t),
                                [this, id] { on_transfer(id); });
  }
}

void CollectiveEngine::on_transfer(std::uint32_t id) {
  Running& c = running_[id];
  if (--c.pending > 0) return;
  if (++c.step < c.steps.size()) {
    schedule_step(id);
    return;
  }
  const InlineCallback finished = c.done;
  free_.push_back(id);
  finished();
}

Duration message_time(const Route& route, double bytes, const Protocol& protocol) {
  return protocol.step_latency + route.latency +
         from_seconds_ceil(bytes / protocol.efficiency_on(route.bottleneck_kind) /
                           route.bottleneck);
}

}  // namespace kvsim::net
