#pragma once
// The discrete-event engine: one queue of timed callbacks, passed by reference (no globals).
//
// Order is total and deterministic: (time, phase, insertion sequence). Components schedule
// callbacks with schedule_at / schedule_in and may cancel them; cancellation is lazy (the entry
// stays in the heap with a stale generation and is skipped when popped). Callbacks may schedule
// further events. Scheduling in the past is a programming error (std::logic_error).
//
// Storage: a radix heap (Ahuja, Mehlhorn, Orlin, Tarjan 1990), which suits a discrete-event
// simulation because popped times never decrease. An event lives in bucket b = the index of the
// highest bit in which its time differs from the last popped time; pushing is an append, and a
// pop that finds bucket 0 empty redistributes the first non-empty bucket into lower ones (each
// event moves at most 64 times in all). Bucket 0 holds the events at the current time, kept as a
// heap on (phase, sequence). The rare event scheduled below the last popped time (after
// run_until stopped early) goes to a small ordinary heap that pops compare against. Entries are
// 16-byte keys (time, and a rank packing phase, sequence and slot); the callback waits in its
// slot, so redistributing a bucket moves keys only (serving's queues, a few dozen events over a
// span of milliseconds, move each event about four times). A byte per slot records
// cancellation. All storage is reused: scheduling allocates nothing once the queue has reached
// its working size.
//
// End-of-instant work: a component whose state changes several times at one instant (a flow
// network, as P flows of a collective step start together) can ask to run once after the last
// event at that instant, before the clock moves on, instead of after every change.

#include <bit>
#include <cstdint>
#include <limits>
#include <vector>

#include "sim/core/inline_callback.hpp"
#include "sim/core/time.hpp"

namespace kvsim {

/// Same-time events run in phase order: completions are recorded before anyone decides.
enum class Phase : std::uint8_t {
  kCompletion = 0,  // a kernel or a transfer finished
  kArrival = 1,     // something arrives (a request, a message becoming visible)
  kDecision = 2,    // schedulers and strategies act on the state
  kObserve = 3,     // samplers and reports read the state last
};

/// Handle of a scheduled event, for cancellation. Stale handles are harmless.
/// Limits: 2^24 (16.7 million) pending events and 2^38 (2.7e11) events per queue; beyond either,
/// schedule_at throws std::length_error rather than misorder.
struct EventId {
  std::uint32_t slot = std::numeric_limits<std::uint32_t>::max();
  std::uint64_t sequence = 0;
};

/// Sees every executed event; used for traces and for the event-sequence fingerprint.
class EventObserver {
 public:
  virtual ~EventObserver() = default;
  virtual void on_event(SimTime time, Phase phase, std::uint64_t sequence) = 0;
};

class EventQueue {
 public:
  EventQueue() = default;
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  EventId schedule_at(SimTime time, Phase phase, InlineCallback callback);
  EventId schedule_in(Duration delay, Phase phase, InlineCallback callback) {
    return schedule_at(checked_add(now_, delay, "an event's time"), phase, callback);
  }
  /// Cancels a pending event; returns false if it already ran or was cancelled.
  bool cancel(EventId id);
  /// Runs `callback` once after the last event at the current time, before the clock advances
  /// (or the queue runs dry). It may schedule events at the current time; they run next, and
  /// then any end-of-instant work they ask for. Not an event: not counted, observed or
  /// cancellable.
  void at_end_of_instant(InlineCallback callback) { end_of_instant_.push_back(callback); }

  /// Runs events until the queue is empty or stop() is called.
  void run();
  /// Runs events with time <= limit; afterwards now() == limit unless stopped earlier.
  void run_until(SimTime limit);
  /// Makes run()/run_until() return after the current callback.
  void stop() { stopped_ = true; }

  SimTime now() const { return now_; }
  std::size_t pending() const { return live_; }
  std::uint64_t executed() const { return executed_; }
  void set_observer(EventObserver* observer) { observer_ = observer; }
  /// Pre-sizes the heap and the slot pool.
  void reserve(std::size_t events);

 private:
  // rank = phase (2 bits) | insertion sequence (38 bits) | slot (24 bits): ordering by rank is
  // ordering by (phase, sequence), since sequences are unique; the slot rides along for free.
  struct Entry {
    std::uint64_t time;  // ns (never negative)
    std::uint64_t rank;
  };
  static constexpr int kSlotBits = 24;
  static constexpr int kSequenceBits = 38;
  static constexpr int kPhaseShift = kSlotBits + kSequenceBits;
  static constexpr int kBuckets = 65;
  static std::uint32_t slot_of(const Entry& e) {
    return static_cast<std::uint32_t>(e.rank & ((1ULL << kSlotBits) - 1));
  }
  static bool before(const Entry& a, const Entry& b) {
    return a.time < b.time || (a.time == b.time && a.rank < b.rank);
  }
  int bucket_of(std::uint64_t time) const {
    return time == last_ ? 0 : 64 - std::countl_zero(time ^ last_);
  }
  void make_room(std::vector<Entry>& bucket);
  void push(const Entry& e);
  /// The earliest entry, or nullptr when empty; may redistribute a bucket.
  const Entry* top();
  Entry pop();  // requires top() != nullptr
  bool step(SimTime limit);
  void end_instant();  // runs the end-of-instant callbacks

  std::vector<Entry> buckets_[kBuckets];  // bucket 0: a heap on rank
  std::uint64_t nonempty_ = 0;            // bit b - 1: bucket b (1..64) has entries
  std::uint64_t last_ = 0;                // the time all bucket indices are relative to
  std::vector<Entry> early_;              // heap on (time, rank) of entries below last_
  std::size_t size_ = 0;                  // entries held, live or cancelled
  // Per slot: pending or not (read on every pop: a byte), which event holds it (for cancel), and
  // its callback.
  std::vector<std::uint8_t> live_slots_;
  std::vector<InlineCallback> callbacks_;
  std::vector<std::uint64_t> slot_sequence_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<InlineCallback> end_of_instant_;
  std::vector<InlineCallback> running_end_of_instant_;
  SimTime now_{0};
  std::uint64_t sequence_ = 0;
  std::uint64_t executed_ = 0;
  std::size_t live_ = 0;
  bool stopped_ = false;
  EventObserver* observer_ = nullptr;
};

/// Folds every executed event's (time, phase, sequence) into a 64-bit FNV-1a hash, so a test can
/// tell whether a change altered the event sequence at all.
class FingerprintObserver final : public EventObserver {
 public:
  void on_event(SimTime time, Phase phase, std::uint64_t sequence) override;
  std::uint64_t value() const { return hash_; }

 private:
  void mix(std::uint64_t v);
  std::uint64_t hash_ = 14695981039346656037ULL;
};

}  // namespace kvsim
