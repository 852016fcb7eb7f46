#pragma once
// The temporaries of outputs being written, for a signal handler to remove: the one place kvsim
// keeps process-wide state, because a handler can reach nothing else. A fixed table of paths
// (no allocation, so removal is async-signal-safe); a path that does not fit is simply not
// covered, and its OutputDirectory still removes it on every other way out.

#include <string>

namespace kvsim::report {

/// Records `path`; returns its slot, or -1 when the table is full or the path too long.
int track_temporary(const std::string& path) noexcept;
/// Forgets a slot (a no-op for -1).
void untrack_temporary(int slot) noexcept;
/// unlink()s every tracked path. Async-signal-safe.
void unlink_tracked_temporaries() noexcept;

}  // namespace kvsim::report
