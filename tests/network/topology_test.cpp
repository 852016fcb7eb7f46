#include "sim/network/topology.hpp"

#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "sim/network/heterogeneity.hpp"
#include "sim/network/topologies.hpp"

namespace kvsim::net {
namespace {

Topology build(const Json& j) {
  return topologies().create(ConfigNode(&j, "test", Json::json_pointer()),
                             catalog::gpu("a100-sxm4-80gb"));
}

}  // namespace

TEST(Topology, PresetsBuildTheExpectedGraphs) {
  const Topology fc = build({{"type", "fully-connected"}, {"gpus", 4}});
  EXPECT_EQ(fc.gpu_count(), 4);
  EXPECT_EQ(fc.links().size(), 12u);  // 4 x 3 directed links
  const Topology sw = build({{"type", "nvswitch"}});
  EXPECT_EQ(sw.gpu_count(), 8);
  EXPECT_EQ(sw.links().size(), 16u);
  EXPECT_EQ(sw.gpu_route(0, 5).links.size(), 2u);  // gpu0 -> nvswitch -> gpu5
  EXPECT_DOUBLE_EQ(sw.gpu_route(0, 5).bottleneck, 300e9);
  const Topology ring = build({{"type", "ring"}, {"gpus", 4}});
  EXPECT_EQ(ring.gpu_route(0, 2).links.size(), 2u);
  const Topology pairs = build({{"type", "pairwise-nvlink"}, {"gpus", 4}});
  EXPECT_EQ(pairs.gpu_route(0, 1).links.size(), 1u);  // the NVLink bridge
  EXPECT_DOUBLE_EQ(pairs.gpu_route(1, 2).bottleneck, 32e9);  // over PCIe
}

TEST(Topology, MultiNodeRoutesCrossNicsOnlyBetweenServers) {
  const Topology t = build({{"type", "multi-node"}, {"nodes", 2}, {"gpus_per_node", 8}});
  EXPECT_EQ(t.gpu_count(), 16);
  EXPECT_EQ(t.gpu_route(0, 7).links.size(), 2u);  // inside a server: the NVSwitch
  const Route& cross = t.gpu_route(3, 11);        // gpu -> nic -> fabric -> nic -> gpu
  EXPECT_EQ(cross.links.size(), 4u);
  EXPECT_DOUBLE_EQ(cross.bottleneck, 25e9);  // 200 Gb/s NIC
}

TEST(Topology, ExplicitLinksAndNamedNodes) {
  const Topology t = build(
      {{"type", "explicit"},
       {"gpus", 2},
       {"nodes", Json::array({{{"name", "sw"}, {"kind", "pcie-switch"}}})},
       {"links", Json::array({{{"from", 0}, {"to", "sw"}, {"bandwidth", "10GB/s"}},
                              {{"from", "sw"}, {"to", 1}, {"bandwidth", "20GB/s"},
                               {"latency", "3us"}}})}});
  const Route& r = t.gpu_route(0, 1);
  EXPECT_EQ(r.links.size(), 2u);
  EXPECT_DOUBLE_EQ(r.bottleneck, 10e9);
  EXPECT_EQ(r.latency, Duration(4000));  // default 1 us + 3 us
}

TEST(Heterogeneity, ScaleLinksSlowsTheNamedRouteBothWays) {
  Topology t = build({{"type", "nvswitch"}});
  const Json h{{"type", "scale-links"}, {"links", Json::array({Json::array({3, 4})})},
               {"scale", 0.1}};
  RandomEngine random(1);
  heterogeneities().create(ConfigNode(&h, "test", Json::json_pointer()), t)->apply(t, random);
  EXPECT_DOUBLE_EQ(t.gpu_route(3, 4).bottleneck, 30e9);
  EXPECT_DOUBLE_EQ(t.gpu_route(4, 3).bottleneck, 30e9);
  EXPECT_DOUBLE_EQ(t.gpu_route(0, 1).bottleneck, 300e9);
}

TEST(Heterogeneity, RandomChoicesFollowTheSeed) {
  const auto slow = [](std::uint64_t seed) {
    Topology t = build({{"type", "fully-connected"}, {"gpus", 8}});
    const Json h{{"type", "random-slow-links"}, {"count", 3}, {"scale", 0.5}};
    RandomEngine random = RandomStreams(seed).stream("network/heterogeneity/0");
    heterogeneities().create(ConfigNode(&h, "test", Json::json_pointer()), t)->apply(t, random);
    std::vector<int> out;
    for (const Link& l : t.links()) {
      if (l.bandwidth < l.nominal_bandwidth) out.push_back(l.id);
    }
    return out;
  };
  EXPECT_EQ(slow(1).size(), 3u);
  EXPECT_EQ(slow(1), slow(1));
  EXPECT_NE(slow(1), slow(2));
}

}  // namespace kvsim::net
