// Replaces the global operator new/delete (malloc/free) for kvsim_tests, counting allocations
// while an AllocationCounter is active (see allocation_counter.hpp).
#include "core/allocation_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::int64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace kvsim::testing {

AllocationCounter::AllocationCounter() {
  g_allocations = 0;
  g_counting = true;
}
AllocationCounter::~AllocationCounter() { g_counting = false; }
void AllocationCounter::pause() { g_counting = false; }
void AllocationCounter::resume() { g_counting = true; }
std::int64_t AllocationCounter::stop() {
  g_counting = false;
  return g_allocations.load();
}

}  // namespace kvsim::testing
