#include "sim/network/flow_network.hpp"

#include <gtest/gtest.h>

#include "network/test_topologies.hpp"
#include "sim/network/channel.hpp"

namespace kvsim::net {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// Records when each callback ran.
struct Finish {
  EventQueue* q;
  std::vector<SimTime> at;
  InlineCallback mark() {
    return [this] { at.push_back(q->now()); };
  }
};

}  // namespace

TEST(FlowNetwork, LoneFlowTakesLatencyPlusSizeOverBandwidth) {
  EventQueue q;
  const Topology t = testing::full_mesh(2, 100e9, microseconds(3));
  FlowNetwork net(q, t);
  Finish f{&q, {}};
  net.start_between_gpus(0, 1, 1e9, f.mark());
  q.run();
  // 3 us + 1e9 B / 100e9 B/s = 3 us + 10 ms = 10,003,000 ns.
  ASSERT_EQ(f.at.size(), 1u);
  EXPECT_EQ(f.at[0], Duration(10'003'000));
  EXPECT_DOUBLE_EQ(net.link_bytes()[t.find_link(0, 1)], 1e9);
}

TEST(FlowNetwork, BackgroundTrafficIsNotCountedInLinkBytes) {
  EventQueue q;
  const Topology t = testing::full_mesh(2, 100e9, microseconds(0));
  FlowNetwork net(q, t);
  const FlowId background = net.start_between_gpus(0, 1, FlowNetwork::kUnlimited, {});
  net.start_between_gpus(0, 1, 1e9, {});
  q.schedule_in(milliseconds(1), Phase::kDecision, [&] { net.stop(background); });
  q.run();
  // The background flow moved 1 ms x 50 GB/s = 5e7 B before it stopped: not counted; the
  // message's 1e9 B are.
  EXPECT_DOUBLE_EQ(net.link_bytes()[t.find_link(0, 1)], 1e9);
}

TEST(FlowNetwork, TwoFlowsOnOneLinkEachGetHalf) {
  EventQueue q;
  const Topology t = testing::full_mesh(2, 100e9, microseconds(0));
  FlowNetwork net(q, t);
  Finish f{&q, {}};
  const FlowId a = net.start_between_gpus(0, 1, 1e9, f.mark());
  net.start_between_gpus(0, 1, 1e9, f.mark());
  q.run_until(SimTime(1));
  EXPECT_DOUBLE_EQ(net.rate(a), 50e9);
  q.run();
  // Each moves 1e9 B at 50e9 B/s: 20 ms.
  EXPECT_EQ(f.at, (std::vector<SimTime>{milliseconds(20), milliseconds(20)}));
}

TEST(FlowNetwork, ThreeFlowsOnTwoLinksShareMaxMinFairly) {
  // a -> b at 10 GB/s, b -> c at 4 GB/s. f1: a->b, f2: a->c (both links), f3: b->c.
  // Progressive filling: b->c saturates first at 4/2 = 2 GB/s each for f2 and f3; a->b then
  // gives f1 the rest, 10 - 2 = 8 GB/s.
  EventQueue q;
  Topology t;
  for (int i = 0; i < 3; ++i) t.add_gpu();
  t.add_link(0, 1, 10e9, Duration(0));
  t.add_link(1, 2, 4e9, Duration(0));
  FlowNetwork net(q, t);
  const FlowId f1 = net.start_between_gpus(0, 1, 1e12, {});
  const FlowId f2 = net.start_between_gpus(0, 2, 1e12, {});
  const FlowId f3 = net.start_between_gpus(1, 2, 1e12, {});
  q.run_until(SimTime(1));
  EXPECT_DOUBLE_EQ(net.rate(f1), 8e9);
  EXPECT_DOUBLE_EQ(net.rate(f2), 2e9);
  EXPECT_DOUBLE_EQ(net.rate(f3), 2e9);
}

TEST(FlowNetwork, EqualBottlenecksAtTwoLevelsFreezeTogetherAndInOrder) {
  // 64 GPUs in a one-way ring at 100 GB/s: a ring step's 64 flows saturate 64 links at the
  // same share (frozen in one round). Beside them, two flows on their own 40 GB/s link get
  // 20 GB/s each (a lower level, frozen first). All 66 start at the same instant, and each
  // finishes as if alone at its share.
  EventQueue q;
  Topology t;
  const int p = 64;
  for (int i = 0; i < p + 2; ++i) t.add_gpu();
  for (int i = 0; i < p; ++i) t.add_link(i, (i + 1) % p, 100e9, Duration(0));
  t.add_link(p, p + 1, 40e9, Duration(0));
  FlowNetwork net(q, t);
  Finish ring{&q, {}};
  Finish pair{&q, {}};
  std::vector<FlowId> ids;
  for (int i = 0; i < p; ++i) {
    ids.push_back(net.start_between_gpus(i, (i + 1) % p, 1e9, ring.mark()));
  }
  const FlowId slow = net.start_between_gpus(p, p + 1, 1e9, pair.mark());
  net.start_between_gpus(p, p + 1, 1e9, pair.mark());
  q.run_until(SimTime(1));
  for (const FlowId id : ids) EXPECT_DOUBLE_EQ(net.rate(id), 100e9);
  EXPECT_DOUBLE_EQ(net.rate(slow), 20e9);
  q.run();
  EXPECT_EQ(ring.at, std::vector<SimTime>(p, milliseconds(10)));  // 1e9 B / 100e9 B/s
  EXPECT_EQ(pair.at, std::vector<SimTime>(2, milliseconds(50)));  // 1e9 B / 20e9 B/s
}

TEST(FlowNetwork, RateCapLimitsAFlowAndFreesTheRestForOthers) {
  EventQueue q;
  const Topology t = testing::full_mesh(2, 100e9, microseconds(0));
  FlowNetwork net(q, t);
  const FlowId capped = net.start_between_gpus(0, 1, 1e12, {}, 10e9);
  const FlowId free = net.start_between_gpus(0, 1, 1e12, {});
  q.run_until(SimTime(1));
  EXPECT_DOUBLE_EQ(net.rate(capped), 10e9);
  EXPECT_DOUBLE_EQ(net.rate(free), 90e9);
}

TEST(FlowNetwork, FlowSlowsWhileBackgroundTrafficRunsAndSpeedsUpAfter) {
  EventQueue q;
  const Topology t = testing::full_mesh(2, 100e9, microseconds(0));
  FlowNetwork net(q, t);
  Finish f{&q, {}};
  net.start_between_gpus(0, 1, 1e9, f.mark());
  struct Ctx {
    FlowNetwork* net;
    FlowId background;
  } ctx{&net, 0};
  q.schedule_at(milliseconds(2), Phase::kArrival, [c = &ctx] {
    c->background = c->net->start_between_gpus(0, 1, FlowNetwork::kUnlimited, {});
  });
  q.schedule_at(milliseconds(6), Phase::kArrival, [c = &ctx] { c->net->stop(c->background); });
  q.run();
  // 0-2 ms alone at 100 GB/s: 2e8 B; 2-6 ms at 50 GB/s: 2e8 B; the remaining 6e8 B alone at
  // 100 GB/s: 6 ms, so it ends at 12 ms (10 ms without the background flow). Each rate change
  // rounds the next finish up to a whole nanosecond, hence the 1 ns allowance.
  ASSERT_EQ(f.at.size(), 1u);
  EXPECT_NEAR(static_cast<double>(f.at[0].count()), 12e6, 1.0);
}

TEST(MessageChannel, MessagesArriveInOrderOneAfterAnother) {
  EventQueue q;
  const Topology t = testing::full_mesh(2, 100e9, microseconds(1));
  FlowNetwork net(q, t);
  MessageChannel channel(net, 0, 1);
  Finish f{&q, {}};
  channel.send(1e9, f.mark());
  channel.send(1e9, f.mark());
  q.run();
  // Each message: 1 us + 10 ms; the second starts when the first has arrived.
  EXPECT_EQ(f.at, (std::vector<SimTime>{Duration(10'001'000), Duration(20'002'000)}));
}

TEST(FlowNetwork, EmptyMessageTakesOnlyTheLatency) {
  EventQueue q;
  const Topology t = testing::full_mesh(2, 100e9, microseconds(7));
  FlowNetwork net(q, t);
  Finish f{&q, {}};
  net.start_between_gpus(1, 0, 0, f.mark());
  q.run();
  EXPECT_EQ(f.at, (std::vector<SimTime>{microseconds(7)}));
}

}  // namespace kvsim::net
