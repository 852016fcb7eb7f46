// A collective run in closed form while alone and put back as flows when traffic arrives on its
// links (FlowNetwork::watch/adopt, CollectiveEngine::solo/resume) must give the flow-by-flow
// run's times to the nanosecond, wherever the traffic arrives: before a step, within its route
// latency, mid-transfer, and exactly on each of those boundaries.
#include <gtest/gtest.h>

#include <algorithm>

#include "models/catalog/catalog.hpp"
#include "sim/network/collectives.hpp"
#include "sim/network/topologies.hpp"

namespace kvsim::net {
namespace {

Topology nvswitch4() {
  const Json j{{"type", "nvswitch"}, {"gpus", 4}};
  return topologies().create(ConfigNode(&j, "test", Json::json_pointer()),
                             catalog::gpu("a100-sxm4-80gb"));
}

CollectiveConfig nccl_like() {
  CollectiveConfig c;
  c.protocols = {Protocol{"ll128", Duration(580), 0.42}};
  return c;
}

struct Times {
  SimTime collective{-1};
  SimTime traffic{-1};
};

const std::vector<int> kGroup{0, 1};
constexpr double kBytes = 3e6;

// The all-reduce among GPUs 0 and 1 from time 0, and a flow of `traffic` bytes from GPU 0 to
// GPU 2 (through GPU 0's uplink, which the all-reduce uses) requested at `at`. Lazy: the
// all-reduce is one event while alone, resumed as flows when the flow becomes active.
Times run(const Topology& t, SimTime at, double traffic, bool lazy) {
  EventQueue q;
  FlowNetwork net(q, t);
  CollectiveEngine engine(net, nccl_like());
  Times times;
  struct Ctx {
    EventQueue* q;
    Times* times;
  } ctx{&q, &times};
  const InlineCallback done = [c = &ctx] { c->times->collective = c->q->now(); };
  if (!lazy) {
    engine.start(CollectiveKind::kAllReduce, kGroup, kBytes, done);
  } else {
    const SoloCollective solo = engine.solo(CollectiveKind::kAllReduce, kGroup, kBytes);
    std::vector<int> links = t.gpu_route(0, 1).links;
    for (const int l : t.gpu_route(1, 0).links) links.push_back(l);
    EXPECT_TRUE(net.quiet(links));
    struct Resume {
      EventQueue* q;
      FlowNetwork* net;
      CollectiveEngine* engine;
      const SoloCollective* solo;
      EventId end;
      std::uint32_t watch;
      InlineCallback done;
    } resume{&q, &net, &engine, &solo, {}, 0, done};
    resume.end = q.schedule_at(SimTime(0) + solo.time, Phase::kCompletion, [r = &resume] {
      r->net->unwatch(r->watch);
      r->done();
    });
    resume.watch = net.watch(links, [r = &resume] {
      r->q->cancel(r->end);
      r->engine->resume(CollectiveKind::kAllReduce, kGroup, kBytes, *r->solo, SimTime(0),
                        r->done);
    });
    q.schedule_at(at, Phase::kDecision, [n = &net, c = &ctx, traffic] {
      n->start_between_gpus(0, 2, traffic, [c] { c->times->traffic = c->q->now(); });
    });
    q.run();
    return times;
  }
  q.schedule_at(at, Phase::kDecision, [n = &net, c = &ctx, traffic] {
    n->start_between_gpus(0, 2, traffic, [c] { c->times->traffic = c->q->now(); });
  });
  q.run();
  return times;
}

}  // namespace

TEST(CollectiveResume, SoloRunIsTheCollectivesTimeAndResumableOnASwitch) {
  const Topology t = nvswitch4();
  EventQueue q;
  FlowNetwork net(q, t);
  CollectiveEngine engine(net, nccl_like());
  const SoloCollective solo = engine.solo(CollectiveKind::kAllReduce, kGroup, kBytes);
  ASSERT_TRUE(solo.resumable);
  ASSERT_EQ(solo.steps.size(), 2u);  // ring of 2: reduce-scatter and all-gather, one step each
  EXPECT_EQ(solo.time, solo.steps.back().finished);
  EXPECT_EQ(solo.time, collective_time(t, kGroup, CollectiveKind::kAllReduce,
                                       CollectiveAlgorithm::kRing, kBytes,
                                       nccl_like().protocols[0]));
}

TEST(CollectiveResume, MatchesTheFlowByFlowRunWhereverTrafficArrives) {
  const Topology t = nvswitch4();
  EventQueue q;
  FlowNetwork net(q, t);
  CollectiveEngine engine(net, nccl_like());
  const SoloCollective solo = engine.solo(CollectiveKind::kAllReduce, kGroup, kBytes);
  // The traffic becomes active a route latency after it is requested: aim its activation at
  // every boundary of every step, a nanosecond either side, and points between.
  const Duration latency = t.gpu_route(0, 2).latency;
  std::vector<SimTime> arrivals;
  for (const SoloCollective::Step& s : solo.steps) {
    for (const SimTime b : {s.requested, s.activated, s.finished, (s.activated + s.finished) / 2}) {
      for (const Duration d : {Duration(-1), Duration(0), Duration(1)}) arrivals.push_back(b + d);
    }
  }
  arrivals.push_back(solo.time + Duration(5));  // after it: nothing to resume
  int compared = 0;
  for (const SimTime arrival : arrivals) {
    const SimTime at = arrival - latency;
    if (at < SimTime(0)) continue;
    for (const double traffic : {1e4, 1e6, 5e6}) {  // ends within a step, or outlasts it
      const Times lazy = run(t, at, traffic, true);
      const Times flows = run(t, at, traffic, false);
      EXPECT_EQ(lazy.collective, flows.collective) << "traffic at " << at.count() << " ns";
      EXPECT_EQ(lazy.traffic, flows.traffic) << "traffic at " << at.count() << " ns";
      ++compared;
    }
  }
  EXPECT_GE(compared, 60);
  // The traffic does slow the all-reduce when it overlaps a transfer (the check is not vacuous).
  const SimTime mid = (solo.steps[0].activated + solo.steps[0].finished) / 2 - latency;
  EXPECT_GT(run(t, mid, 5e6, false).collective, SimTime(0) + solo.time);
}

TEST(CollectiveResume, WatchFiresOnceBeforeTheFlowJoinsAndQuietSeesActiveFlows) {
  const Topology t = nvswitch4();
  EventQueue q;
  FlowNetwork net(q, t);
  const std::vector<int> uplink0{t.gpu_route(0, 1).links.front()};
  int fired = 0;
  std::size_t active_when_fired = 99;
  struct Ctx {
    FlowNetwork* net;
    int* fired;
    std::size_t* active;
  } ctx{&net, &fired, &active_when_fired};
  net.watch(uplink0, [c = &ctx] {
    ++*c->fired;
    *c->active = c->net->active_flows();
  });
  EXPECT_FALSE(net.quiet(uplink0));  // watched
  net.start_between_gpus(2, 3, 1e6, {});  // other links: no effect
  net.start_between_gpus(0, 2, 1e6, {});
  net.start_between_gpus(0, 3, 1e6, {});
  q.run_until(SimTime(0) + t.gpu_route(0, 2).latency);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(active_when_fired, 1u);  // only 2 -> 3 had joined
  EXPECT_FALSE(net.quiet(uplink0));  // flows on it
  q.run();
  EXPECT_TRUE(net.quiet(uplink0));
}

}  // namespace kvsim::net
