// Collective protocols: the fixed cost by GPU count (interpolated table) and efficiency per link
// kind, each checked in closed form and against the flow simulation, and the load-time warnings
// for a profile used on links it never measured.
#include "sim/network/protocol.hpp"

#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "network/collective_run.hpp"
#include "network/test_topologies.hpp"
#include "sim/core/input_error.hpp"
#include "sim/network/collectives.hpp"
#include "sim/network/topologies.hpp"

namespace kvsim::net {
namespace {

using std::chrono::microseconds;

Duration run_collective(const Topology& t, CollectiveKind kind, const CollectiveConfig& config,
                        double bytes) {
  return testing::run_collective(t, kind, config, bytes) - SimTime{0};
}

Topology build(const Json& spec) {
  return topologies().create(ConfigNode(&spec, "test", Json::json_pointer()),
                             catalog::gpu("a100-sxm4-80gb"));
}

CollectiveConfig config_of(const Json& j) {
  return CollectiveConfig::from_config(ConfigNode(&j, "test", Json::json_pointer()));
}

// Two single-GPU servers: gpu0 -pcie- nic -network- fabric -network- nic -pcie- gpu1, NIC
// links at 25 GB/s, PCIe at 50 GB/s; route latency 1.5 + 2.5 + 2.5 + 1.5 = 8 us.
Topology two_servers() {
  return build({{"type", "multi-node"},
                {"nodes", 2},
                {"gpus_per_node", 1},
                {"pcie", {{"bandwidth", "50GB/s"}}},
                {"nic", {{"bandwidth", "25GB/s"}}}});
}

Protocol per_kind() {
  Protocol p("per-kind");
  p.efficiency_by_link = {0.9, 0.8, 0.5};  // nvlink, pcie, network
  p.efficiency = 0.5;
  return p;
}

}  // namespace

TEST(Protocol, ThreeGpuAllReduceInterpolatesBetweenTheTwoAndFourGpuEntries) {
  // Table {2: 10 us, 4: 30 us}: 3 GPUs cost 10 + (30 - 10) x (3 - 2) / (4 - 2) = 20 us.
  // Ring all-reduce, p = 3, S = 3e9 B, B = 100 GB/s, route latency 2 us, efficiency 0.5:
  // 20 us + 2(p - 1) x (2 us + (S / p) / (0.5 x B)) = 20 us + 4 x (2 us + 20 ms) = 80,028,000 ns.
  const Topology t = testing::full_mesh(3, 100e9, microseconds(2));
  CollectiveConfig c;
  c.protocols[0].latency_by_gpus = {{2, microseconds(10)}, {4, microseconds(30)}};
  c.protocols[0].efficiency = 0.5;
  EXPECT_EQ(c.protocols[0].all_reduce_latency(3), microseconds(20));
  const auto kind = CollectiveKind::kAllReduce;
  EXPECT_EQ(collective_time(t, {0, 1, 2}, kind, c.algorithm, 3e9, c.protocols[0]),
            Duration(80'028'000));
  EXPECT_EQ(run_collective(t, kind, c, 3e9), Duration(80'028'000));
  // A ring all-gather has p - 1 = 2 steps, half the all-reduce's 4: 20 us x 2 / 4 = 10 us +
  // 2 x (2 us + 20 ms) = 40,014,000 ns.
  EXPECT_EQ(collective_time(t, {0, 1, 2}, CollectiveKind::kAllGather, c.algorithm, 3e9,
                            c.protocols[0]),
            Duration(40'014'000));
  EXPECT_EQ(run_collective(t, CollectiveKind::kAllGather, c, 3e9), Duration(40'014'000));
}

TEST(Protocol, BeyondTheTableTheLastCountsCostPerRingStepIsCarried) {
  Protocol p;
  p.latency_by_gpus = {{2, microseconds(10)}, {4, microseconds(30)}};
  // 8 GPUs: 30 us over the 4-GPU ring's 6 steps = 5 us a step, x 14 steps = 70 us.
  EXPECT_EQ(p.fixed_cost(14, 8), microseconds(70));
  EXPECT_EQ(p.fixed_cost(0, 8), Duration{0});
  // The step_latency form: n steps x step_latency, whatever the count.
  const Protocol ring("ring", microseconds(3));
  EXPECT_EQ(ring.fixed_cost(14, 8), microseconds(42));
}

TEST(Protocol, MixedRouteUsesTheEfficiencyOfItsBottleneckLinksKind) {
  Topology t = two_servers();
  const Route& r = t.gpu_route(0, 1);
  ASSERT_EQ(r.bottleneck_kind, LinkKind::kNetwork);
  ASSERT_EQ(r.latency, microseconds(8));
  // 1e9 B / (0.5 x 25 GB/s) = 80 ms, + 8 us route latency.
  EXPECT_EQ(message_time(r, 1e9, per_kind()), Duration(80'008'000));
  // Two-GPU ring all-reduce: 2 steps of S/2 = 5e8 B: 2 x (8 us + 40 ms) = 80,016,000 ns.
  CollectiveConfig c;
  c.protocols = {per_kind()};
  EXPECT_EQ(collective_time(t, {0, 1}, CollectiveKind::kAllReduce, c.algorithm, 1e9,
                            c.protocols[0]),
            Duration(80'016'000));
  EXPECT_EQ(run_collective(t, CollectiveKind::kAllReduce, c, 1e9), Duration(80'016'000));
  // NICs four times faster (100 GB/s): PCIe at 50 GB/s is the bottleneck, efficiency 0.8:
  // 1e9 / (0.8 x 50e9) = 25 ms, + 8 us.
  for (const Link& l : std::vector<Link>(t.links())) {
    if (l.kind == LinkKind::kNetwork) t.scale_link(l.id, 4);
  }
  const Route& faster = t.gpu_route(0, 1);
  EXPECT_EQ(faster.bottleneck_kind, LinkKind::kPcie);
  EXPECT_EQ(message_time(faster, 1e9, per_kind()), Duration(25'008'000));
}

TEST(Protocol, LinkKindsFollowTheEndpoints) {
  EXPECT_EQ(link_kind(NodeKind::kGpu, NodeKind::kNvSwitch), LinkKind::kNvlink);
  EXPECT_EQ(link_kind(NodeKind::kGpu, NodeKind::kGpu), LinkKind::kNvlink);
  EXPECT_EQ(link_kind(NodeKind::kGpu, NodeKind::kPcieSwitch), LinkKind::kPcie);
  EXPECT_EQ(link_kind(NodeKind::kGpu, NodeKind::kNic), LinkKind::kPcie);
  EXPECT_EQ(link_kind(NodeKind::kNic, NodeKind::kNetworkSwitch), LinkKind::kNetwork);
  EXPECT_EQ(link_kind(NodeKind::kNic, NodeKind::kNic), LinkKind::kNetwork);
}

TEST(Protocol, JsonRoundTripKeepsTableAndPerKindEfficiency) {
  const Json j{{"algorithm", "ring"},
               {"protocols",
                {{{"name", "small"},
                  {"latency_by_gpus", {{{"gpus", 2}, {"latency", "40us"}},
                                       {{"gpus", 8}, {"latency", "35us"}}}},
                  {"efficiency", {{"nvlink", 0.4}, {"network", 0.3}}}}}},
               {"point_to_point", {{"step_latency", "5us"}, {"efficiency", {{"nvlink", 0.9}}}}}};
  const CollectiveConfig c = config_of(j);
  EXPECT_EQ(c.protocols[0].efficiency_on(LinkKind::kPcie), 0.3);  // the lowest given
  EXPECT_EQ(c.protocols[0].all_reduce_latency(4), Duration(38'334));  // 40 us + trunc(-5000 ns x 2 / 6)
  EXPECT_EQ(config_of(c.to_json()).to_json(), c.to_json());
  EXPECT_EQ(c.to_json()["protocols"][0]["efficiency"], j["protocols"][0]["efficiency"]);
}

TEST(Protocol, ProfileWarnsOnALinkKindItNeverMeasured) {
  const Json j{{"protocols", {{{"name", "small"}, {"efficiency", {{"nvlink", 0.4}}}}}},
               {"measured_on",
                {{"profile", "test-dgx"},
                 {"gpu", "a100-sxm4-80gb"},
                 {"topologies", {{{"type", "nvswitch"}, {"gpus", {2, 4, 8}},
                                  {"link_kind", "nvlink"}}}}}}};
  const CollectiveConfig c = config_of(j);
  EXPECT_TRUE(collective_warnings(c, build({{"type", "nvswitch"}, {"gpus", 8}})).empty());
  const auto w = collective_warnings(c, two_servers());
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("profile 'test-dgx'"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("network links"), std::string::npos) << w[0];
  // A hand-written efficiency (one number) is for every kind: nothing to warn about.
  EXPECT_TRUE(collective_warnings(CollectiveConfig{}, two_servers()).empty());
}

TEST(Protocol, AShippedProfileIsNamedByItsName) {
  const CollectiveConfig c = config_of(Json("nccl-dgx-a100"));
  ASSERT_TRUE(c.measured_on.has_value());
  EXPECT_EQ(c.measured_on->profile, "nccl-dgx-a100");
  EXPECT_EQ(c.protocols.size(), 2u);
  // Measured on NVLink only: on two servers the network is a kind it never measured.
  EXPECT_FALSE(collective_warnings(c, two_servers()).empty());
  EXPECT_THROW(config_of(Json("a100-sxm4-80gb")), InputError);  // a device profile
}

TEST(Protocol, ProfileWarnsBeyondItsMeasuredGpuCounts) {
  CollectiveConfig c;
  c.protocols[0].latency_by_gpus = {{2, microseconds(10)}, {8, microseconds(30)}};
  EXPECT_TRUE(collective_warnings(c, build({{"type", "nvswitch"}, {"gpus", 8}})).empty());
  const auto w = collective_warnings(
      c, build({{"type", "multi-node"}, {"nodes", 2}, {"gpus_per_node", 8}}));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("more than 8"), std::string::npos) << w[0];
}

}  // namespace kvsim::net
