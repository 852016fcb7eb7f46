// Hold model (each event schedules one successor at an exponentially distributed delay), with
// 10^3 and 10^5 pending events, for kvsim's EventQueue and for a plain
// std::priority_queue<std::function> baseline in the same run. Items/s = events per second.
#include <benchmark/benchmark.h>

#include <functional>
#include <queue>
#include <random>
#include <vector>

#include "sim/core/event_queue.hpp"

namespace {

// Exponential delays with mean 1 us, drawn up front so both queues see the same sequence and
// the random number generator is not what is measured.
std::vector<kvsim::Duration> delays(std::size_t n) {
  std::mt19937_64 rng(42);
  std::exponential_distribution<double> exp(1.0 / 1000.0);
  std::vector<kvsim::Duration> out(n);
  for (auto& d : out) d = kvsim::Duration(1 + static_cast<std::int64_t>(exp(rng)));
  return out;
}

struct KvsimHold {
  kvsim::EventQueue queue;
  const std::vector<kvsim::Duration>* delay;
  std::size_t next = 0;
  void fire() {
    const kvsim::Duration d = (*delay)[next++ & (delay->size() - 1)];
    queue.schedule_in(d, kvsim::Phase::kDecision, [this] { fire(); });
  }
};

void BM_KvsimEventQueueHold(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  const auto table = delays(1 << 20);
  KvsimHold hold{{}, &table};
  hold.queue.reserve(pending);
  for (std::size_t i = 0; i < pending; ++i) hold.fire();
  constexpr std::int64_t kBatch = 100'000;
  for (auto _ : state) {
    const std::uint64_t target = hold.queue.executed() + kBatch;
    while (hold.queue.executed() < target) hold.queue.run_until(hold.queue.now() + kvsim::Duration(1000));
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

struct StdEvent {
  std::int64_t time;
  std::uint64_t sequence;
  std::function<void()> callback;
  bool operator>(const StdEvent& o) const {
    return time != o.time ? time > o.time : sequence > o.sequence;
  }
};

struct StdHold {
  std::priority_queue<StdEvent, std::vector<StdEvent>, std::greater<>> queue;
  const std::vector<kvsim::Duration>* delay;
  std::size_t next = 0;
  std::int64_t now = 0;
  std::uint64_t sequence = 0;
  std::uint64_t executed = 0;
  void fire() {
    const auto d = (*delay)[next++ & (delay->size() - 1)].count();
    queue.push(StdEvent{now + d, sequence++, [this] { fire(); }});
  }
  void step() {
    StdEvent e = queue.top();
    queue.pop();
    now = e.time;
    ++executed;
    e.callback();
  }
};

void BM_StdPriorityQueueHold(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  const auto table = delays(1 << 20);
  StdHold hold{{}, &table};
  for (std::size_t i = 0; i < pending; ++i) hold.fire();
  constexpr std::int64_t kBatch = 100'000;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < kBatch; ++i) hold.step();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

}  // namespace

BENCHMARK(BM_KvsimEventQueueHold)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StdPriorityQueueHold)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
