#pragma once
// Counts heap allocations (global operator new) made by this thread's code while a counter is
// active, so a test can check that a loop allocates nothing in steady state. The replacement
// operator new/delete live in allocation_counter.cpp, linked into kvsim_tests only.
//
//   AllocationCounter count;   // counting from here
//   ... the loop ...
//   EXPECT_EQ(count.stop(), 0);

#include <cstdint>

namespace kvsim::testing {

class AllocationCounter {
 public:
  AllocationCounter();   // starts counting (from zero)
  ~AllocationCounter();  // stops, if stop() was not called
  AllocationCounter(const AllocationCounter&) = delete;
  AllocationCounter& operator=(const AllocationCounter&) = delete;
  /// Pauses and resumes counting (a test's own bookkeeping between measured stretches).
  void pause();
  void resume();
  /// Stops counting and returns the allocations counted.
  std::int64_t stop();
};

}  // namespace kvsim::testing
