#include "sim/core/event_queue.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace kvsim {
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
  if (sequence_ >= (1ULL << kSequenceBits)) {
    throw std::length_error("event queue: more than 2^38 events scheduled");
  }
  std::uint32_t slot;
  if (free_slots_.empty()) {
    if (slots_.size() >= (1ULL << kSlotBits)) {
      throw std::length_error("event queue: more than 2^24 events pending");
    }
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  Slot& s = slots_[slot];
  s.callback = callback;
  s.live = true;
  const std::uint64_t rank = (static_cast<std::uint64_t>(phase) << kPhaseShift) |
                             (sequence_++ << kSlotBits) | slot;
  push(Key{time.count(), rank});
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

// The heap is 4-ary: half the levels of a binary heap, and a node's four children share one or
// two cache lines, so with 10^5 pending events (a few MiB of keys) a pop misses the cache about
// half as often. Order is the same total order as any heap of (time, phase, sequence).
constexpr std::size_t kArity = 4;

void EventQueue::push(Key key) {
  std::size_t hole = heap_.size();
  heap_.push_back(key);
  while (hole > 0) {
    const std::size_t parent = (hole - 1) / kArity;
    if (!before(key, heap_[parent])) break;
    heap_[hole] = heap_[parent];
    hole = parent;
  }
  heap_[hole] = key;
}

// Bottom-up deletion (Floyd): move the hole from the root to a leaf along the smallest child,
// then sift the former last key up from there; for random keys it rarely climbs.
EventQueue::Key EventQueue::pop() {
  const Key top = heap_.front();
  const Key last = heap_.back();
  heap_.pop_back();
  const std::size_t n = heap_.size();
  if (n == 0) return top;
  std::size_t hole = 0;
  while (true) {
    const std::size_t first = kArity * hole + 1;
    if (first >= n) break;
    std::size_t best = first;
    const std::size_t end = std::min(first + kArity, n);
    for (std::size_t c = first + 1; c < end; ++c) {
      if (before(heap_[c], heap_[best])) best = c;
    }
    heap_[hole] = heap_[best];
    hole = best;
  }
  while (hole > 0) {
    const std::size_t parent = (hole - 1) / kArity;
    if (!before(last, heap_[parent])) break;
    heap_[hole] = heap_[parent];
    hole = parent;
  }
  heap_[hole] = last;
  return top;
}

// Pops and runs one live event with time <= limit; returns false when there is none.
bool EventQueue::step(SimTime limit) {
  while (!heap_.empty()) {
    if (heap_.front().time > limit.count()) return false;
    const Key key = pop();
    const std::uint32_t slot = slot_of(key);
    Slot& s = slots_[slot];
    const bool live = s.live;
    const InlineCallback callback = s.callback;
    s.live = false;
    ++s.generation;
    free_slots_.push_back(slot);
    if (!live) continue;  // cancelled
    --live_;
    now_ = SimTime(key.time);
    ++executed_;
    if (observer_ != nullptr) {
      observer_->on_event(now_, static_cast<Phase>(key.rank >> kPhaseShift),
                          (key.rank >> kSlotBits) & ((1ULL << kSequenceBits) - 1));
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
