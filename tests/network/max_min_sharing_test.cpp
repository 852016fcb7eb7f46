// Incremental max-min sharing against the full recomputation: on random topologies and random
// start/stop sequences the two give the same rates (cross_check compares them after every
// recomputation) and the same completion times, and the incremental one recomputes fewer flows.
#include <random>

#include <gtest/gtest.h>

#include "network/test_topologies.hpp"
#include "sim/network/flow_network.hpp"

namespace kvsim::net {
namespace {

using Recompute = FlowNetworkOptions::Recompute;

// A connected random topology: `gpus` GPUs and two switches, a random tree plus extra links,
// duplex, bandwidths 10-100 GB/s, latencies 0-3 us.
Topology random_topology(std::mt19937_64& rng, int gpus) {
  Topology t;
  for (int i = 0; i < gpus; ++i) t.add_gpu();
  t.add_node("switch0", NodeKind::kNvSwitch);
  t.add_node("switch1", NodeKind::kNvSwitch);
  const int nodes = gpus + 2;
  std::uniform_real_distribution<double> bandwidth(10e9, 100e9);
  const auto link = [&](int a, int b) {
    t.add_duplex(a, b, bandwidth(rng), Duration(static_cast<std::int64_t>(rng() % 3001)));
  };
  for (int n = 1; n < nodes; ++n) link(n, static_cast<int>(rng() % n));
  for (int extra = 0; extra < nodes / 2; ++extra) {
    const int a = static_cast<int>(rng() % nodes);
    const int b = static_cast<int>(rng() % nodes);
    if (a != b && t.find_link(a, b) < 0) link(a, b);
  }
  return t;
}

// Starts `flows` flows at random times between random GPUs (a quarter of them unlimited, each
// stopped at a random later time; with `caps`, a third rate-capped), recording when each ends.
struct RandomTraffic {
  FlowNetwork& net;
  EventQueue& q;
  std::mt19937_64 rng;
  bool caps;
  std::vector<SimTime> finished;

  void schedule(int flows) {
    finished.assign(static_cast<std::size_t>(flows), Duration::max());
    for (int i = 0; i < flows; ++i) {
      const SimTime at(static_cast<std::int64_t>(rng() % 2'000'000));
      q.schedule_at(at, Phase::kDecision, [this, i] { start(i); });
    }
  }
  void start(int i) {
    const int gpus = net.topology().gpu_count();
    const int a = static_cast<int>(rng() % gpus);
    const int b = (a + 1 + static_cast<int>(rng() % (gpus - 1))) % gpus;
    const double cap = caps && rng() % 3 == 0 ? 5e9 + static_cast<double>(rng() % 40) * 1e9
                                              : FlowNetwork::kUnlimited;
    const auto done = [this, i] { finished[i] = q.now(); };
    if (rng() % 4 == 0) {
      const FlowId id = net.start_between_gpus(a, b, FlowNetwork::kUnlimited, {}, cap);
      q.schedule_in(Duration(static_cast<std::int64_t>(rng() % 500'000)), Phase::kDecision,
                    [this, id, i] {
                      net.stop(id);
                      finished[i] = q.now();
                    });
    } else {
      net.start_between_gpus(a, b, 1e3 * static_cast<double>(1 + rng() % 20'000), done, cap);
    }
  }
};

std::vector<SimTime> run(const Topology& t, std::uint64_t seed, bool caps,
                         FlowNetworkOptions options, std::uint64_t* recomputed = nullptr) {
  EventQueue q;
  FlowNetwork net(q, t, options);
  RandomTraffic traffic{net, q, std::mt19937_64(seed), caps, {}};
  traffic.schedule(300);
  q.run();
  if (recomputed != nullptr) *recomputed = net.flows_recomputed();
  return traffic.finished;
}

}  // namespace

TEST(MaxMinSharing, IncrementalMatchesFullRecomputationOnRandomFlowSets) {
  // cross_check recomputes every rate from scratch after each incremental recomputation and
  // throws unless they are the same doubles (no rate caps here); the completion and stop times
  // of all 300 flows are then the full recomputation's to the nanosecond.
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    const Topology t = random_topology(rng, 4 + static_cast<int>(seed % 9));
    std::uint64_t incremental_work = 0, full_work = 0;
    const std::vector<SimTime> incremental =
        run(t, seed, false, {Recompute::kIncremental, true}, &incremental_work);
    const std::vector<SimTime> full = run(t, seed, false, {Recompute::kFull, false}, &full_work);
    EXPECT_EQ(incremental, full) << "seed " << seed;
    EXPECT_LE(incremental_work, full_work) << "seed " << seed;
  }
}

TEST(MaxMinSharing, IncrementalMatchesFullRecomputationWithRateCaps) {
  // With rate caps the full pass may subtract the same caps from a link in another order, so
  // cross_check allows 1e-12 of the fastest link's bandwidth (100 GB/s: 0.1 B/s); it throws on
  // anything larger.
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed + 1000);
    const Topology t = random_topology(rng, 4 + static_cast<int>(seed % 9));
    EXPECT_NO_THROW(run(t, seed, true, {Recompute::kIncremental, true})) << "seed " << seed;
  }
}

TEST(MaxMinSharing, IncrementalRecomputesOnlyTheComponentAChangeTouches) {
  // A: 0 -> 1, 1e9 B at 100 GB/s (10 ms); B1..B10: 2 -> 3, 1e7 B (0.1 ms) each, one after
  // another, on their own link. Both start at t = 0: one recomputation of {A, B1} (2 flows) in
  // either mode. Each B_i's completion and B_i+1's activation share an instant: incremental
  // refills {B_i+1} (1 flow), full {A, B_i+1} (2). After B10: incremental nothing, full {A}.
  // Incremental: 2 + 9 x 1 = 11; full: 2 + 9 x 2 + 1 = 21. The times are the same.
  const Topology t = testing::full_mesh(4, 100e9, Duration{0});
  for (const Recompute mode : {Recompute::kIncremental, Recompute::kFull}) {
    EventQueue q;
    FlowNetwork net(q, t, {mode, false});
    SimTime a_done{0}, b_done{0};
    int b_left = 10;
    std::function<void()> next_b = [&] {
      if (--b_left < 0) {
        b_done = q.now();
        return;
      }
      net.start_between_gpus(2, 3, 1e7, [&] { next_b(); });
    };
    net.start_between_gpus(0, 1, 1e9, [&] { a_done = q.now(); });
    next_b();
    q.run();
    EXPECT_EQ(net.flows_recomputed(), mode == Recompute::kIncremental ? 11u : 21u);
    EXPECT_EQ(a_done, SimTime(Duration(10'000'000)));  // 1e9 B / 100e9 B/s
    EXPECT_EQ(b_done, SimTime(Duration(1'000'000)));   // 10 x 1e7 B / 100e9 B/s
  }
}

}  // namespace kvsim::net
