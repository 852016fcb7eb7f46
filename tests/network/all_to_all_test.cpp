// The all-to-all (a MoE layer's dispatch and combine) on a flat network against the pairwise
// exchange's closed form, simulated as flows and in closed form.
#include <gtest/gtest.h>

#include "network/collective_run.hpp"
#include "network/test_topologies.hpp"
#include "sim/network/collectives.hpp"

namespace kvsim::net {
namespace {

SimTime simulate(const Topology& t, const CollectiveConfig& config, double bytes) {
  return testing::run_collective(t, CollectiveKind::kAllToAll, config, bytes);
}

}  // namespace

TEST(AllToAll, PairwiseExchangeOnAFullMeshIsStepsTimesLatencyPlusPiece) {
  // p = 8 ranks, each with a send buffer S = 8e9 B of which S/p goes to each peer; links of
  // B = 100 GB/s and 3 us. Pairwise (the ring algorithm's all-to-all): p - 1 steps, in step s
  // rank r sends its piece to rank r + s, every pair on its own link:
  // (p - 1) x (3 us + S / (p B)) = 7 x (3,000 + 10,000,000) ns = 70,021,000 ns.
  const Topology t = testing::full_mesh(8, 100e9, std::chrono::microseconds(3));
  CollectiveConfig ring;
  EXPECT_EQ(simulate(t, ring, 8e9), SimTime(Duration(70'021'000)));
  std::vector<int> gpus{0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(collective_time(t, gpus, CollectiveKind::kAllToAll, CollectiveAlgorithm::kRing, 8e9,
                            ring.protocols[0]),
            Duration(70'021'000));
  // Direct: every piece at once, each on its own link of the full mesh: one step,
  // 3 us + 1e9 / 100e9 s = 10,003,000 ns.
  CollectiveConfig direct;
  direct.algorithm = CollectiveAlgorithm::kDirect;
  EXPECT_EQ(simulate(t, direct, 8e9), SimTime(Duration(10'003'000)));
  EXPECT_EQ(collective_time(t, gpus, CollectiveKind::kAllToAll, CollectiveAlgorithm::kDirect,
                            8e9, direct.protocols[0]),
            Duration(10'003'000));
}

TEST(AllToAll, StepLatencyOfTheProtocolIsChargedPerStep) {
  // 4 ranks, S = 4e9 B, 100 GB/s links with no latency; a protocol of 5 us per step and
  // efficiency 0.5: 3 x (5 us + 1e9 / 0.5 / 100e9 s) = 3 x 20,005,000 = 60,015,000 ns.
  const Topology t = testing::full_mesh(4, 100e9, Duration(0));
  CollectiveConfig c;
  c.protocols = {Protocol{"simple", std::chrono::microseconds(5), 0.5}};
  EXPECT_EQ(simulate(t, c, 4e9), SimTime(Duration(60'015'000)));
}

}  // namespace kvsim::net
