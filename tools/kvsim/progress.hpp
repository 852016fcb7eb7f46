#pragma once
// Progress of long commands on a terminal: "kvsim sweep: 37/144 points, 2.1 s, ~6 s left".
// Prints only when stderr is a terminal, at most ten times a second; silent in pipes and CI.

#include <chrono>
#include <cstddef>
#include <string>

namespace kvsim::cli {

class Progress {
 public:
  Progress(std::string what, std::size_t total, bool enabled = true);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  /// `done` of `total` finished; not thread-safe (callers serialise).
  void update(std::size_t done);
  double elapsed_seconds() const;

 private:
  std::string what_;
  std::size_t total_;
  bool enabled_;
  bool printed_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace kvsim::cli
