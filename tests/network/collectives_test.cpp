#include "sim/network/collectives.hpp"

#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "network/collective_run.hpp"
#include "network/test_topologies.hpp"
#include "sim/network/topologies.hpp"

namespace kvsim::net {
namespace {

using testing::run_collective;

Topology nvswitch8() {
  const Json j{{"type", "nvswitch"}, {"gpus", 8}};
  return topologies().create(ConfigNode(&j, "test", Json::json_pointer()),
                             catalog::gpu("a100-sxm4-80gb"));
}

}  // namespace

TEST(Collectives, RingAllGatherClosedForm) {
  // p = 4, S = 4e9 B, B = 100 GB/s, step latency 2 us:
  // (p - 1) x (2 us + S / (p B)) = 3 x (2 us + 10 ms) = 30,006,000 ns.
  const Topology t = testing::full_mesh(4, 100e9, std::chrono::microseconds(2));
  const CollectiveConfig ring;
  EXPECT_EQ(run_collective(t, CollectiveKind::kAllGather, ring, 4e9), Duration(30'006'000));
  EXPECT_EQ(collective_time(t, {0, 1, 2, 3}, CollectiveKind::kAllGather,
                            CollectiveAlgorithm::kRing, 4e9, ring.protocols[0]),
            Duration(30'006'000));
}

TEST(Collectives, RingRunsAtTheSlowLinksPace) {
  // Link 1 -> 2 at a tenth: every step waits for its 1e9 B at 10 GB/s = 100 ms.
  // 3 x (2 us + 100 ms) = 300,006,000 ns.
  Topology t = testing::full_mesh(4, 100e9, std::chrono::microseconds(2));
  t.scale_link(t.find_link(1, 2), 0.1);
  EXPECT_EQ(run_collective(t, CollectiveKind::kAllGather, CollectiveConfig{}, 4e9),
            Duration(300'006'000));
}

TEST(Collectives, RingAllReduceIsTwiceTheSteps) {
  // 2 (p - 1) x (2 us + S / (p B)) = 6 x (2 us + 10 ms) = 60,012,000 ns.
  const Topology t = testing::full_mesh(4, 100e9, std::chrono::microseconds(2));
  EXPECT_EQ(run_collective(t, CollectiveKind::kAllReduce, CollectiveConfig{}, 4e9),
            Duration(60'012'000));
}

TEST(Collectives, ProtocolStepLatencyAndEfficiency) {
  // Efficiency 0.8 puts S/p / 0.8 on the wire; step latency 5 us per step.
  // 3 x (5 us + 0 + 1e9 / 0.8 / 100e9 s = 12.5 ms) = 37,515,000 ns.
  const Topology t = testing::full_mesh(4, 100e9, Duration(0));
  CollectiveConfig c;
  c.protocols = {Protocol{"simple", std::chrono::microseconds(5), 0.8}};
  EXPECT_EQ(run_collective(t, CollectiveKind::kAllGather, c, 4e9), Duration(37'515'000));
}

TEST(Collectives, TunerPicksLowLatencyProtocolForSmallAndBandwidthProtocolForLarge) {
  const Topology t = nvswitch8();
  CollectiveConfig c;
  c.protocols = {Protocol{"ll", std::chrono::microseconds(1), 0.25},
                 Protocol{"simple", std::chrono::microseconds(8), 0.9}};
  const std::vector<int> gpus{0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(choose_protocol(t, gpus, CollectiveKind::kAllReduce, c, 64e3).name, "ll");
  EXPECT_EQ(choose_protocol(t, gpus, CollectiveKind::kAllReduce, c, 1e9).name, "simple");
}

TEST(Collectives, EngineNeverBeatsTheUncontendedClosedFormAndMatchesItForRings) {
  const Topology t = nvswitch8();
  const std::vector<int> gpus{0, 1, 2, 3, 4, 5, 6, 7};
  using K = CollectiveKind;
  using A = CollectiveAlgorithm;
  for (const K kind : {K::kAllGather, K::kReduceScatter, K::kAllReduce, K::kAllToAll,
                       K::kBroadcast}) {
    for (const A algorithm : {A::kRing, A::kTree, A::kDirect, A::kMesh}) {
      CollectiveConfig c;
      c.algorithm = algorithm;
      Duration closed{0};
      try {
        closed = collective_time(t, gpus, kind, algorithm, 64e6, c.protocols[0]);
      } catch (const std::invalid_argument&) {
        continue;  // e.g. tree all-gather does not exist
      }
      const SimTime simulated = run_collective(t, kind, c, 64e6);
      EXPECT_GE(simulated, closed) << to_string(kind) << " " << to_string(algorithm);
      if (algorithm == A::kRing) {
        EXPECT_EQ(simulated, closed) << to_string(kind);
      }
    }
  }
}

TEST(Collectives, SingleParticipantFinishesImmediately) {
  const Topology t = testing::full_mesh(1, 100e9, Duration(0));
  EXPECT_EQ(run_collective(t, CollectiveKind::kAllReduce, CollectiveConfig{}, 1e9), SimTime(0));
}

TEST(Collectives, MeshAlgorithmOnAFullMeshRunsAsItsClosedForm) {
  // Every pair of GPUs its own link: the mesh algorithm's all-pairs steps share none, so its
  // flows take exactly the closed form. All-reduce of 64 MB on 8 GPUs over 64 GB/s links:
  // 2 x (1 us + 64e6 / 8 / 64e9 s) = 2 x (1,000 + 125,000) = 252,000 ns.
  const Topology t = testing::full_mesh(8, 64e9, std::chrono::microseconds(1));
  const std::vector<int> gpus{0, 1, 2, 3, 4, 5, 6, 7};
  CollectiveConfig c;
  c.algorithm = CollectiveAlgorithm::kMesh;
  using K = CollectiveKind;
  for (const K kind : {K::kAllGather, K::kReduceScatter, K::kAllReduce, K::kAllToAll,
                       K::kBroadcast}) {
    EXPECT_EQ(run_collective(t, kind, c, 64e6),
              collective_time(t, gpus, kind, CollectiveAlgorithm::kMesh, 64e6, c.protocols[0]))
        << to_string(kind);
  }
  EXPECT_EQ(collective_time(t, gpus, K::kAllReduce, CollectiveAlgorithm::kMesh, 64e6,
                            c.protocols[0]),
            Duration(252'000));
}

}  // namespace kvsim::net
