#include "sim/core/event_queue.hpp"

#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/allocation_counter.hpp"

namespace kvsim {

TEST(EventQueue, RunsEventsInTimeOrder) {
  EventQueue q;
  std::vector<int> order;
  struct Ctx {
    std::vector<int>* order;
  } ctx{&order};
  q.schedule_at(Duration(30), Phase::kDecision, [c = &ctx] { c->order->push_back(3); });
  q.schedule_at(Duration(10), Phase::kDecision, [c = &ctx] { c->order->push_back(1); });
  q.schedule_at(Duration(20), Phase::kDecision, [c = &ctx] { c->order->push_back(2); });
  q.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(q.now(), Duration(30));
}

TEST(EventQueue, SameTimeEventsRunInPhaseThenSchedulingOrder) {
  EventQueue q;
  std::vector<int> order;
  auto* o = &order;
  q.schedule_at(Duration(5), Phase::kDecision, [o] { o->push_back(3); });
  q.schedule_at(Duration(5), Phase::kCompletion, [o] { o->push_back(1); });
  q.schedule_at(Duration(5), Phase::kDecision, [o] { o->push_back(4); });
  q.schedule_at(Duration(5), Phase::kCompletion, [o] { o->push_back(2); });
  q.schedule_at(Duration(5), Phase::kObserve, [o] { o->push_back(5); });
  q.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST(EventQueue, CancelledEventsDoNotRun) {
  EventQueue q;
  int runs = 0;
  auto* r = &runs;
  const EventId a = q.schedule_at(Duration(1), Phase::kDecision, [r] { ++*r; });
  q.schedule_at(Duration(2), Phase::kDecision, [r] { *r += 10; });
  EXPECT_TRUE(q.cancel(a));
  EXPECT_FALSE(q.cancel(a));  // already cancelled
  EXPECT_EQ(q.pending(), 1u);
  q.run();
  EXPECT_EQ(runs, 10);
  EXPECT_FALSE(q.cancel(a));  // stale handle after its slot was reused is harmless
}

TEST(EventQueue, RunUntilStopsAtTheLimitAndAdvancesTime) {
  EventQueue q;
  int runs = 0;
  auto* r = &runs;
  q.schedule_at(Duration(10), Phase::kDecision, [r] { ++*r; });
  q.schedule_at(Duration(20), Phase::kDecision, [r] { ++*r; });
  q.run_until(Duration(15));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(q.now(), Duration(15));
  q.run();
  EXPECT_EQ(runs, 2);
}

TEST(EventQueue, EndOfInstantWorkRunsOnceAfterTheInstantsLastEvent) {
  struct Log {
    EventQueue q;
    std::vector<std::pair<std::int64_t, char>> entries;  // (time, what)
    void note(char what) { entries.emplace_back(q.now().count(), what); }
  } log;
  Log* g = &log;
  // The first of the events at t = 5 asks for end-of-instant work: it runs after every event
  // at 5 (the observe phase included) and before the event at 6. It schedules an event at 5,
  // which runs next, and that event's own request runs after it, still before 6.
  log.q.schedule_at(Duration(5), Phase::kArrival, [g] {
    g->note('a');
    g->q.at_end_of_instant([g] {
      g->note('E');
      g->q.schedule_in(Duration(0), Phase::kCompletion, [g] {
        g->note('c');
        g->q.at_end_of_instant([g] { g->note('F'); });
      });
    });
  });
  log.q.schedule_at(Duration(5), Phase::kArrival, [g] { g->note('b'); });
  log.q.schedule_at(Duration(5), Phase::kObserve, [g] { g->note('o'); });
  log.q.schedule_at(Duration(6), Phase::kCompletion, [g] {
    g->note('d');
    g->q.at_end_of_instant([g] { g->note('G'); });
  });
  log.q.run_until(Duration(5));  // the instant ends when nothing is left at it
  const std::vector<std::pair<std::int64_t, char>> at5{{5, 'a'}, {5, 'b'}, {5, 'o'},
                                                       {5, 'E'}, {5, 'c'}, {5, 'F'}};
  EXPECT_EQ(log.entries, at5);
  log.q.run();  // the last instant's work runs when the queue runs dry
  ASSERT_EQ(log.entries.size(), 8u);
  EXPECT_EQ(log.entries[6], std::make_pair(std::int64_t{6}, 'd'));
  EXPECT_EQ(log.entries[7], std::make_pair(std::int64_t{6}, 'G'));
  EXPECT_EQ(log.q.executed(), 5u);  // end-of-instant work is not an event
}

TEST(EventQueue, SchedulingInThePastIsAnError) {
  EventQueue q;
  q.schedule_at(Duration(10), Phase::kDecision, [] {});
  q.run();
  EXPECT_THROW(q.schedule_at(Duration(5), Phase::kDecision, [] {}), std::logic_error);
}

TEST(EventQueue, StopEndsRunAfterTheCurrentCallback) {
  EventQueue q;
  int runs = 0;
  struct Ctx {
    EventQueue* q;
    int* runs;
  } ctx{&q, &runs};
  q.schedule_at(Duration(1), Phase::kDecision, [c = &ctx] {
    ++*c->runs;
    c->q->stop();
  });
  q.schedule_at(Duration(2), Phase::kDecision, [c = &ctx] { ++*c->runs; });
  q.run();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(q.pending(), 1u);
}

TEST(EventQueue, ACallbackThatReusesItsOwnSlotRunsToItsEnd) {
  // A popped event's slot is free before its callback runs, so the events that callback
  // schedules may take it: each callback must still run as it was scheduled (with its own
  // captures), and the new events run later, in order.
  EventQueue q;
  std::vector<int> log;
  struct Ctx {
    EventQueue* q;
    std::vector<int>* log;
  } ctx{&q, &log};
  q.schedule_at(Duration(1), Phase::kDecision, [c = &ctx, id = 1] {
    c->q->schedule_in(Duration(0), Phase::kDecision, [c, id2 = 2] { c->log->push_back(id2); });
    c->q->schedule_in(Duration(5), Phase::kDecision, [c, id3 = 3] { c->log->push_back(id3); });
    c->log->push_back(id);  // after the schedules that reused this event's slot
  });
  q.run();
  EXPECT_EQ(log, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(q.executed(), 3u);
}

// Hold model: every event schedules one successor, so the pending count stays constant.
struct Hold {
  EventQueue* q;
  std::mt19937_64 rng{7};
  void fire() {
    q->schedule_in(Duration(1 + static_cast<std::int64_t>(rng() % 1000)), Phase::kDecision,
                   [this] { fire(); });
  }
};

TEST(EventQueue, SchedulingAllocatesNothingInSteadyState) {
  EventQueue q;
  Hold hold{&q};
  for (int i = 0; i < 1000; ++i) hold.fire();
  q.run_until(Duration(100'000));  // warm up: the heap and slot pool reach working size
  testing::AllocationCounter allocations;
  q.run_until(Duration(2'000'000));
  EXPECT_EQ(allocations.stop(), 0);
  EXPECT_GT(q.executed(), 100'000u);
}

TEST(EventQueue, FingerprintIsStableForTheSameSequenceAndChangesWithIt) {
  const auto fingerprint = [](std::int64_t shift) {
    EventQueue q;
    FingerprintObserver fp;
    q.set_observer(&fp);
    for (int i = 0; i < 50; ++i) {
      q.schedule_at(Duration(i * 7 + (i == 20 ? shift : 0)), Phase::kDecision, [] {});
    }
    q.run();
    return fp.value();
  };
  EXPECT_EQ(fingerprint(0), fingerprint(0));
  EXPECT_NE(fingerprint(0), fingerprint(1));
}

}  // namespace kvsim
