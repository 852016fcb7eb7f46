// Node presets (sim/network/topologies.cpp): the MI300X's XGMI full mesh, where a group of GPUs
// sees only the links among themselves, an NVL72 rack, and multi-node built of either.

#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "sim/core/input_error.hpp"
#include "sim/network/collectives.hpp"
#include "sim/network/topologies.hpp"
#include "sim/scenario/scenario.hpp"

namespace kvsim::net {
namespace {

Topology make(const Json& j, const std::string& gpu) {
  return topologies().create(ConfigNode(&j, "test", Json::json_pointer()), catalog::gpu(gpu));
}

Duration ring_all_reduce(const Topology& t, const std::vector<int>& gpus, double bytes) {
  return collective_time(t, gpus, CollectiveKind::kAllReduce, CollectiveAlgorithm::kRing, bytes,
                         Protocol{});
}

}  // namespace

TEST(NodePresets, XgmiMeshJoinsEveryPairByOneLinkOfTheGpusMeshBandwidth) {
  const Topology t = make(Json{{"type", "xgmi-mesh"}}, "mi300x");
  EXPECT_EQ(t.gpu_count(), 8);
  EXPECT_EQ(t.links().size(), 8u * 7u);  // 28 pairs, a link each way
  const Route& r = t.gpu_route(2, 5);
  EXPECT_DOUBLE_EQ(r.bottleneck, 64e9);  // direct, one link
  EXPECT_EQ(r.latency, Duration(1000));
}

TEST(NodePresets, TwoGpuAllReduceOnTheMeshSeesOneLink) {
  // A 2-GPU ring all-reduce of S = 1 GB: 2 (p - 1) = 2 steps of S / p over the pair's one
  // 64 GB/s link, each after the link's 1 us: 2 x (1 us + 0.5e9 / 64e9 s = 7.8125 ms)
  // = 15,627,000 ns: one link's 64 GB/s, not the GPU's 448 GB/s to all its peers.
  const Topology t = make(Json{{"type", "xgmi-mesh"}}, "mi300x");
  EXPECT_EQ(ring_all_reduce(t, {0, 1}, 1e9), Duration(15'627'000));
  // A 4-GPU group: 6 steps of S / 4 over one link each: 6 x (1 us + 0.25e9 / 64e9 s)
  // = 23,443,500 ns.
  EXPECT_EQ(ring_all_reduce(t, {0, 1, 2, 3}, 1e9), Duration(23'443'500));
  // The same pair under an NVSwitch at the GPU's 448 GB/s (all 7 links' worth) would take
  // 2 x (2 us + 0.5e9 / 448e9 s): the mesh's pair is 7x slower in bandwidth.
  const Topology sw = make(Json{{"type", "nvswitch"}}, "mi300x");
  EXPECT_EQ(ring_all_reduce(sw, {0, 1}, 1e9), Duration(2 * (2000 + 1'116'072)));
}

TEST(NodePresets, Nvl72IsOneNvlinkDomainOf72Gpus) {
  const Topology t = make(Json{{"type", "nvl72"}}, "gb200");
  EXPECT_EQ(t.gpu_count(), 72);
  const Route& r = t.gpu_route(0, 71);
  EXPECT_DOUBLE_EQ(r.bottleneck, 900e9);  // 1.8 TB/s both ways, through the NVLink switches
  EXPECT_EQ(r.latency, Duration(2000));   // GPU to switch to GPU
}

TEST(NodePresets, MultiNodeTakesAnyNodePreset) {
  const Topology mesh =
      make(Json{{"type", "multi-node"}, {"nodes", 2}, {"node", "xgmi-mesh"}}, "mi300x");
  EXPECT_EQ(mesh.gpu_count(), 16);
  EXPECT_DOUBLE_EQ(mesh.gpu_route(0, 7).bottleneck, 64e9);      // the mesh inside a node
  EXPECT_DOUBLE_EQ(mesh.gpu_route(0, 8).bottleneck, 200e9 / 8);  // NICs between nodes
  const Topology racks =
      make(Json{{"type", "multi-node"}, {"nodes", 2}, {"node", "nvl72"}}, "gb200");
  EXPECT_EQ(racks.gpu_count(), 144);
  EXPECT_DOUBLE_EQ(racks.gpu_route(3, 70).bottleneck, 900e9);
}

TEST(NodePresets, PresetsRefuseGpusTheyDoNotHold) {
  // An H100 has no XGMI mesh links, an NVL72 rack no NVLink 4 GPUs; each says what to give.
  EXPECT_THROW(make(Json{{"type", "xgmi-mesh"}}, "h100-sxm"), InputError);
  EXPECT_THROW(make(Json{{"type", "nvl72"}}, "h100-sxm"), InputError);
  EXPECT_THROW(make(Json{{"type", "xgmi-mesh"}, {"gpus", 9}}, "mi300x"), InputError);
  EXPECT_THROW(make(Json{{"type", "multi-node"}, {"nodes", 2}, {"node", "xgmi-mesh"},
                         {"gpus_per_node", 16}},
                    "mi300x"),
               InputError);
  // Given a link, either preset models any GPU.
  const Json link{{"bandwidth", "100GB/s"}};
  EXPECT_EQ(make(Json{{"type", "xgmi-mesh"}, {"gpus", 4}, {"link", link}}, "h100-sxm").gpu_count(),
            4);
}

TEST(NodePresets, MeshAllReduceRunsOnEveryLinkOfTheGroupAtOnce) {
  // The mesh algorithm: a direct reduce-scatter then a direct all-gather, each one step of
  // S / p to every peer over its own 64 GB/s link: 2 x (1 us + S / p / 64 GB/s). S = 1 GB:
  //   8 GPUs: 2 x (1,000 + 0.125e9 / 64e9 s = 1,953,125) = 3,908,250 ns (bus bandwidth
  //           2 x 7/8 x 1 GB / 3.90825 ms = 447.8 GB/s: all 7 links, where the ring gets 64);
  //   4 GPUs: 2 x (1,000 + 3,906,250) = 7,814,500 ns (the ring's 6 steps: 23,443,500);
  //   2 GPUs: the ring's 15,627,000 ns (one link either way).
  const Topology t = make(Json{{"type", "xgmi-mesh"}}, "mi300x");
  const auto mesh = [&](const std::vector<int>& gpus, CollectiveKind kind) {
    return collective_time(t, gpus, kind, CollectiveAlgorithm::kMesh, 1e9, Protocol{});
  };
  EXPECT_EQ(mesh({0, 1, 2, 3, 4, 5, 6, 7}, CollectiveKind::kAllReduce), Duration(3'908'250));
  EXPECT_EQ(mesh({0, 1, 2, 3}, CollectiveKind::kAllReduce), Duration(7'814'500));
  EXPECT_EQ(mesh({0, 1}, CollectiveKind::kAllReduce), ring_all_reduce(t, {0, 1}, 1e9));
  // All-gather and all-to-all: the direct algorithm's one step of S / p per pair.
  EXPECT_EQ(mesh({0, 1, 2, 3, 4, 5, 6, 7}, CollectiveKind::kAllGather), Duration(1'954'125));
  EXPECT_EQ(mesh({0, 1, 2, 3, 4, 5, 6, 7}, CollectiveKind::kAllToAll), Duration(1'954'125));
}

TEST(NodePresets, MeshScenariosDefaultToRcclsMeasuredAllReduceBusBandwidth) {
  // No cluster.collectives on xgmi-mesh: the mesh algorithm at 317 / 448 of each link (RCCL's
  // 317 GB/s bus bandwidth for an 8 x MI300X all-reduce of 8 GB, shared/data/gpus.md).
  Json j{{"model", "llama-2-7b"},
         {"cluster", {{"gpu", "mi300x"}, {"topology", {{"type", "xgmi-mesh"}}}}},
         {"decode", {{"context_tokens", 1024}}}};
  const Scenario s = load_scenario(ConfigDocument(j, "mesh.json"));
  EXPECT_EQ(s.collectives.algorithm, CollectiveAlgorithm::kMesh);
  ASSERT_EQ(s.collectives.protocols.size(), 1u);
  const Protocol& rccl = s.collectives.protocols[0];
  EXPECT_DOUBLE_EQ(rccl.efficiency, 317.0 / 448.0);
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
  // 8 GB over 8 GPUs: 2 x (1,000 + ceil(1e9 / (317/448 x 64e9) s = 22,082,018.9 ns))
  // = 44,166,038 ns; bus bandwidth 2 x 7/8 x 8e9 / 44.166 ms = 316.99 GB/s, the measured 317.
  const std::vector<int> eight{0, 1, 2, 3, 4, 5, 6, 7};
  const Duration t8 = collective_time(*s.topology, eight, CollectiveKind::kAllReduce,
                                      CollectiveAlgorithm::kMesh, 8e9, rccl);
  EXPECT_EQ(t8, Duration(44'166'038));
  EXPECT_NEAR(14e9 / to_seconds(t8) / 1e9, 317.0, 0.05);
  // Checked, not fitted: 2 GPUs, 4 GiB: bus bandwidth 2^32 / (2 x (1 us + 2^31 B / 45.29 GB/s))
  // = 45.3 GB/s against RCCL's measured 47.7 (5.0% under).
  const Duration t2 = collective_time(*s.topology, {0, 1}, CollectiveKind::kAllReduce,
                                      CollectiveAlgorithm::kMesh, 4294967296.0, rccl);
  const double bus2 = 4294967296.0 / to_seconds(t2) / 1e9;
  EXPECT_NEAR(bus2, 45.3, 0.05);
  EXPECT_NEAR(bus2 / 47.7 - 1, -0.050, 0.001);
  // A ring on the mesh is not refused but marked: one link per GPU.
  j["cluster"]["collectives"] = Json{{"algorithm", "ring"}};
  const Scenario ring = load_scenario(ConfigDocument(j, "ring.json"));
  ASSERT_EQ(ring.warnings.size(), 1u);
  EXPECT_NE(ring.warnings[0].find("the ring collectives use one link per GPU"), std::string::npos)
      << ring.warnings[0];
  // Multi-node keeps the ring by default (all-pairs steps would cross the NICs), and says so.
  j["cluster"].erase("collectives");
  j["cluster"]["topology"] = Json{{"type", "multi-node"}, {"nodes", 2}, {"node", "xgmi-mesh"}};
  const Scenario nodes = load_scenario(ConfigDocument(j, "nodes.json"));
  EXPECT_EQ(nodes.collectives.algorithm, CollectiveAlgorithm::kRing);
  ASSERT_EQ(nodes.warnings.size(), 1u);
  EXPECT_NE(nodes.warnings[0].find("multi-node keeps the ring"), std::string::npos);
}

}  // namespace kvsim::net
