#include "sim/core/event_queue.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>

#include <fmt/format.h>

namespace kvsim {
namespace {

// Heap orders: bucket 0 by rank alone (all its entries share one time); the early heap by
// (time, rank). std heaps are max-heaps, so the comparators say "comes later".
struct LaterRank {
  template <typename E>
  bool operator()(const E& a, const E& b) const {
    return a.rank > b.rank;
  }
};
// Entries every bucket's storage grows to at once: most buckets hold a handful of entries, and
// without a floor each of their first pushes would scan all buckets for room to borrow.
constexpr std::size_t kBucketFloor = 64;

struct Later {
  template <typename E>
  bool operator()(const E& a, const E& b) const {
    return a.time > b.time || (a.time == b.time && a.rank > b.rank);
  }
};

}  // namespace

void EventQueue::reserve(std::size_t events) {
  buckets_[0].reserve(events);
  live_slots_.reserve(events);
  callbacks_.reserve(events);
  slot_sequence_.reserve(events);
  free_slots_.reserve(events);
}

// A bucket about to grow takes the storage of an empty bucket with more room instead, so the
// few buckets in use at any time recycle the capacity earlier ones grew to; failing that it grows
// to hold every pending entry. Once the queue has run for a while, pushing allocates nothing.
void EventQueue::make_room(std::vector<Entry>& bucket) {
  if (bucket.capacity() < kBucketFloor) {
    // The first push of a run: every storage grows to the floor at once (swaps only move the
    // kBuckets storages), so no later push allocates for it.
    for (std::vector<Entry>& b : buckets_) {
      if (b.capacity() < kBucketFloor) b.reserve(kBucketFloor);
    }
    return;
  }
  std::vector<Entry>* roomiest = nullptr;
  for (std::vector<Entry>& other : buckets_) {
    if (other.empty() && other.capacity() > bucket.capacity() &&
        (roomiest == nullptr || other.capacity() > roomiest->capacity())) {
      roomiest = &other;
    }
  }
  if (roomiest == nullptr) {
    // Nothing to reuse: grow to hold every pending entry, so this bucket never grows again
    // unless the queue itself does.
    bucket.reserve(std::max(2 * bucket.capacity(), size_ + 1));
    return;
  }
  roomiest->assign(bucket.begin(), bucket.end());
  bucket.swap(*roomiest);
  roomiest->clear();
}

void EventQueue::push(const Entry& e) {
  ++size_;
  if (e.time < last_) {  // below the radix base: only after run_until stopped early
    early_.push_back(e);
    std::push_heap(early_.begin(), early_.end(), Later{});
    return;
  }
  const int b = bucket_of(e.time);
  if (buckets_[b].size() == buckets_[b].capacity()) make_room(buckets_[b]);
  buckets_[b].push_back(e);
  if (b == 0) {
    std::push_heap(buckets_[0].begin(), buckets_[0].end(), LaterRank{});
  } else {
    nonempty_ |= 1ULL << (b - 1);
  }
}

const EventQueue::Entry* EventQueue::top() {
  if (buckets_[0].empty() && nonempty_ != 0) {
    // Redistribute the first non-empty bucket around its smallest time: every entry lands in
    // a lower bucket, those at the smallest time in bucket 0.
    const int b = std::countr_zero(nonempty_) + 1;
    std::vector<Entry>& from = buckets_[b];
    std::uint64_t smallest = from.front().time;
    for (const Entry& e : from) smallest = std::min(smallest, e.time);
    last_ = smallest;
    nonempty_ &= ~(1ULL << (b - 1));
    for (const Entry& e : from) {
      const int to = bucket_of(e.time);
      if (buckets_[to].size() == buckets_[to].capacity()) make_room(buckets_[to]);
      buckets_[to].push_back(e);
      if (to != 0) nonempty_ |= 1ULL << (to - 1);
    }
    from.clear();
    std::make_heap(buckets_[0].begin(), buckets_[0].end(), LaterRank{});
  }
  const Entry* radix = buckets_[0].empty() ? nullptr : &buckets_[0].front();
  if (early_.empty()) return radix;
  const Entry* early = &early_.front();
  return radix == nullptr || before(*early, *radix) ? early : radix;
}

EventQueue::Entry EventQueue::pop() {
  --size_;
  const Entry* t = top();
  if (!early_.empty() && t == &early_.front()) {
    std::pop_heap(early_.begin(), early_.end(), Later{});
    const Entry e = early_.back();
    early_.pop_back();
    return e;
  }
  std::pop_heap(buckets_[0].begin(), buckets_[0].end(), LaterRank{});
  const Entry e = buckets_[0].back();
  buckets_[0].pop_back();
  return e;
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
    if (live_slots_.size() >= (1ULL << kSlotBits)) {
      throw std::length_error("event queue: more than 2^24 events pending");
    }
    slot = static_cast<std::uint32_t>(live_slots_.size());
    live_slots_.push_back(0);
    slot_sequence_.push_back(0);
    callbacks_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  const std::uint64_t sequence = sequence_++;
  live_slots_[slot] = 1;
  slot_sequence_[slot] = sequence;
  callbacks_[slot] = callback;
  const std::uint64_t rank =
      (static_cast<std::uint64_t>(phase) << kPhaseShift) | (sequence << kSlotBits) | slot;
  push(Entry{static_cast<std::uint64_t>(time.count()), rank});
  ++live_;
  return EventId{slot, sequence};
}

bool EventQueue::cancel(EventId id) {
  if (id.slot >= live_slots_.size()) return false;
  if (live_slots_[id.slot] == 0 || slot_sequence_[id.slot] != id.sequence) return false;
  live_slots_[id.slot] = 0;  // the entry is skipped when popped; the slot is recycled then
  --live_;
  return true;
}

void EventQueue::end_instant() {
  running_end_of_instant_.swap(end_of_instant_);  // callbacks may ask for more
  for (const InlineCallback& callback : running_end_of_instant_) callback();
  running_end_of_instant_.clear();
}

// Pops and runs one live event with time <= limit; returns false when there is none. Before
// the clock moves past the current instant (or the queue runs dry), its end-of-instant work
// runs.
bool EventQueue::step(SimTime limit) {
  while (true) {
    const Entry* next = size_ > 0 ? top() : nullptr;
    if (!end_of_instant_.empty() &&
        (next == nullptr || next->time > static_cast<std::uint64_t>(now_.count()))) {
      end_instant();
      continue;  // it may have scheduled events at the current time
    }
    if (next == nullptr) return false;
    if (next->time > static_cast<std::uint64_t>(limit.count())) return false;
    const Entry e = pop();
    const std::uint32_t slot = slot_of(e);
    const bool live = live_slots_[slot] != 0;
    live_slots_[slot] = 0;
    const InlineCallback callback = callbacks_[slot];  // the slot may be reused from here on
    free_slots_.push_back(slot);
    if (!live) continue;  // cancelled
    --live_;
    now_ = SimTime(static_cast<std::int64_t>(e.time));
    ++executed_;
    if (observer_ != nullptr) {
      observer_->on_event(now_, static_cast<Phase>(e.rank >> kPhaseShift),
                          (e.rank >> kSlotBits) & ((1ULL << kSequenceBits) - 1));
    }
    callback();
    return true;
  }
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
