#pragma once
// Progress of long commands on a terminal: "kvsim sweep: 37/144 (25%), 2.1 s, ~6 s left".
// Prints to stderr only when stderr is a terminal (isatty), at most ten times a second, and ends
// its line when destroyed; silent in pipes and CI, and never touches stdout or output files.
// Used by serve, compare, sweep, search, calibrate*, train-predictor (tools/kvsim).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

namespace kvsim {

class Progress {
 public:
  Progress(std::string what, std::size_t total, bool enabled = true);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  /// `done` of `total` finished; not thread-safe (callers serialise).
  void update(std::size_t done);
  /// Whether it prints (stderr is a terminal and the caller enabled it).
  bool enabled() const { return enabled_; }
  /// Ends the progress line now (else the destructor does), before the command's own output.
  void finish();
  double elapsed_seconds() const;

 private:
  std::string what_;
  std::size_t total_;
  bool enabled_;
  bool printed_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

/// For work with no count to report (a compare, a search, a fit): "kvsim compare: 12 s" on a
/// terminal, redrawn twice a second by a thread of its own until stop() or destruction, which
/// end the line. Same terminal-only rule as Progress; the work itself is untouched.
class Heartbeat {
 public:
  Heartbeat(std::string what, bool enabled = true);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;
  /// Stops redrawing and ends the line (before the command prints its results).
  void stop();

 private:
  void beat();

  std::string what_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool printed_ = false;
  std::thread thread_;
};

}  // namespace kvsim
