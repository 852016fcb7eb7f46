#include "sim/report/temporaries.hpp"

#include <unistd.h>

#include <atomic>
#include <cstring>

namespace kvsim::report {
namespace {

constexpr int kSlots = 64;           // streamed CSVs and rendered files of one run, with room
constexpr std::size_t kPath = 4096;  // bytes, PATH_MAX on Linux

// Slots are claimed with an atomic flag; a path is written before its slot is marked ready.
struct Slot {
  std::atomic<int> state{0};  // 0 free, 1 being written, 2 ready
  char path[kPath];
};
Slot slots[kSlots];

}  // namespace

int track_temporary(const std::string& path) noexcept {
  if (path.size() >= kPath) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int free = 0;
    if (!slots[i].state.compare_exchange_strong(free, 1)) continue;
    std::memcpy(slots[i].path, path.c_str(), path.size() + 1);
    slots[i].state.store(2);
    return i;
  }
  return -1;
}

void untrack_temporary(int slot) noexcept {
  if (slot >= 0 && slot < kSlots) slots[slot].state.store(0);
}

void unlink_tracked_temporaries() noexcept {
  for (Slot& s : slots) {
    if (s.state.load() == 2) ::unlink(s.path);
  }
}

}  // namespace kvsim::report
