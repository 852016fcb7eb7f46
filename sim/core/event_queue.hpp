#pragma once
// The discrete-event engine: one queue of timed callbacks, passed by reference (no globals).
//
// Order is total and deterministic: (time, phase, insertion sequence). Components schedule
// callbacks with schedule_at / schedule_in and may cancel them; cancellation is lazy (the entry
// stays in the heap with a stale generation and is skipped when popped). Callbacks may schedule
// further events. Scheduling in the past is a programming error (std::logic_error).
//
// Storage: a binary heap of 24-byte keys plus a slot pool for the callbacks, both reused, so
// scheduling allocates nothing once the queue has reached its working size.

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
  std::uint32_t generation = 0;
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
    return schedule_at(now_ + delay, phase, callback);
  }
  /// Cancels a pending event; returns false if it already ran or was cancelled.
  bool cancel(EventId id);

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
  // 16 bytes, so the four children of a 4-ary heap node fill exactly one 64-byte cache line.
  // rank = phase (2 bits) | insertion sequence (38 bits) | slot (24 bits): ordering by rank is
  // ordering by (phase, sequence), since sequences are unique; the slot rides along for free.
  struct Key {
    std::int64_t time;   // ns
    std::uint64_t rank;
  };
  static constexpr int kSlotBits = 24;
  static constexpr int kSequenceBits = 38;
  static constexpr int kPhaseShift = kSlotBits + kSequenceBits;
  static std::uint32_t slot_of(const Key& k) {
    return static_cast<std::uint32_t>(k.rank & ((1ULL << kSlotBits) - 1));
  }
  struct Slot {
    InlineCallback callback;
    std::uint32_t generation = 0;
    bool live = false;
  };
  // (time, rank) lexicographic order, written without branches: the heap's comparisons on
  // random times are unpredictable, so a mispredicted branch per level would dominate.
  static bool before(const Key& a, const Key& b) {
    return (a.time < b.time) | ((a.time == b.time) & (a.rank < b.rank));
  }
  void push(Key key);
  Key pop();
  bool step(SimTime limit);

  std::vector<Key> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
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
