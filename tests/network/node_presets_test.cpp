// Node presets (sim/network/topologies.cpp): the MI300X's XGMI full mesh, where a group of GPUs
// sees only the links among themselves, an NVL72 rack, and multi-node built of either.

#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "sim/core/input_error.hpp"
#include "sim/network/collectives.hpp"
#include "sim/network/topologies.hpp"

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

}  // namespace kvsim::net
