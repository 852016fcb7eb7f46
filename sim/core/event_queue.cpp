#include "sim/core/event_queue.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace kvsim {
namespace {
constexpr int kPhaseShift = 56;
}

void EventQueue::reserve(std::size_t events) {
  heap_.reserve(events);
  slots_.reserve(events);
  free_slots_.reserve(events);
}

EventId EventQueue::schedule_at(SimTime time, Phase phase, InlineCallback callback) {
  if (time < now_) {
    throw std::logic_error(fmt::format("event scheduled in the past: at {} ns, now {} ns",
                                       time.count(), now_.count()));
  }
  std::uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  Slot& s = slots_[slot];
  s.callback = callback;
  s.live = true;
  const std::uint64_t rank = (static_cast<std::uint64_t>(phase) << kPhaseShift) | sequence_++;
  push(Key{time.count(), rank, slot});
  ++live_;
  return EventId{slot, s.generation};
}

bool EventQueue::cancel(EventId id) {
  if (id.slot >= slots_.size()) return false;
  Slot& s = slots_[id.slot];
  if (!s.live || s.generation != id.generation) return false;
  s.live = false;  // the heap entry is skipped when popped; the slot is recycled then
  --live_;
  return true;
}

void EventQueue::push(Key key) {
  // Sift up by moving parents down into the hole, then drop the key in place.
  std::size_t hole = heap_.size();
  heap_.push_back(key);
  while (hole > 0) {
    const std::size_t parent = (hole - 1) / 2;
    if (!before(key, heap_[parent])) break;
    heap_[hole] = heap_[parent];
    hole = parent;
  }
  heap_[hole] = key;
}

EventQueue::Key EventQueue::pop() {
  const Key top = heap_.front();
  const Key last = heap_.back();
  heap_.pop_back();
  const std::size_t n = heap_.size();
  if (n > 0) {
    std::size_t hole = 0;
    while (true) {
      std::size_t child = 2 * hole + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
      if (!before(heap_[child], last)) break;
      heap_[hole] = heap_[child];
      hole = child;
    }
    heap_[hole] = last;
  }
  return top;
}

// Pops and runs one live event with time <= limit; returns false when there is none.
bool EventQueue::step(SimTime limit) {
  while (!heap_.empty()) {
    if (heap_.front().time > limit.count()) return false;
    const Key key = pop();
    Slot& s = slots_[key.slot];
    const bool live = s.live;
    const InlineCallback callback = s.callback;
    s.live = false;
    ++s.generation;
    free_slots_.push_back(key.slot);
    if (!live) continue;  // cancelled
    --live_;
    now_ = SimTime(key.time);
    ++executed_;
    if (observer_ != nullptr) {
      observer_->on_event(now_, static_cast<Phase>(key.rank >> kPhaseShift),
                          key.rank & ((1ULL << kPhaseShift) - 1));
    }
    callback();
    return true;
  }
  return false;
}

void EventQueue::run() {
  stopped_ = false;
  while (!stopped_ && step(SimTime::max())) {
  }
}

void EventQueue::run_until(SimTime limit) {
  stopped_ = false;
  while (!stopped_ && step(limit)) {
  }
  if (!stopped_ && limit > now_) now_ = limit;
}

void FingerprintObserver::mix(std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    hash_ ^= (v >> (8 * i)) & 0xffU;
    hash_ *= 1099511628211ULL;
  }
}

void FingerprintObserver::on_event(SimTime time, Phase phase, std::uint64_t sequence) {
  mix(static_cast<std::uint64_t>(time.count()));
  mix(static_cast<std::uint64_t>(phase));
  mix(sequence);
}

}  // namespace kvsim
