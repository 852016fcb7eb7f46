#include "sim/core/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace kvsim {

Progress::Progress(std::string what, std::size_t total, bool enabled)
    : what_(std::move(what)),
      total_(total),
      enabled_(enabled && isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() { finish(); }

void Progress::finish() {
  if (printed_) fmt::print(stderr, "\n");
  printed_ = false;
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(std::size_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  const double elapsed = elapsed_seconds();
  const double left =
      done == 0 ? 0 : elapsed * static_cast<double>(total_ - done) / static_cast<double>(done);
  fmt::print(stderr, "\r{}: {}/{} ({:.0f}%), {:.1f} s, ~{:.0f} s left   ", what_, done, total_,
             100.0 * static_cast<double>(done) / static_cast<double>(total_), elapsed, left);
  std::fflush(stderr);
  printed_ = true;
}

Heartbeat::Heartbeat(std::string what, bool enabled)
    : what_(std::move(what)), start_(std::chrono::steady_clock::now()) {
  if (enabled && isatty(STDERR_FILENO) == 1) thread_ = std::thread([this] { beat(); });
}

Heartbeat::~Heartbeat() { stop(); }

void Heartbeat::beat() {
  std::unique_lock lock(mutex_);
  // The first line after a second: a command that ends sooner prints nothing.
  while (!wake_.wait_for(lock, std::chrono::milliseconds(printed_ ? 500 : 1000),
                         [this] { return stopping_; })) {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    fmt::print(stderr, "\r{}: {:.0f} s   ", what_, s);
    std::fflush(stderr);
    printed_ = true;
  }
}

void Heartbeat::stop() {
  if (!thread_.joinable()) return;
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (printed_) fmt::print(stderr, "\n");
}

}  // namespace kvsim
