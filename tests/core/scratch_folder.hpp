#pragma once
// Test helper: a folder of this process's own under the system's temporary directory, made on
// first use and removed, with everything in it, when the test process exits (RAII: a static
// object's destructor). Tests that write files there leave nothing behind in /tmp, and tests
// running in parallel, or other checkouts sharing /tmp, never overwrite each other's files.
// `name` tells the folders apart: call it with the test's name for one folder per test.
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <set>
#include <string>

#include <fmt/format.h>

namespace kvsim {

class ScratchFolders {
 public:
  ~ScratchFolders() {
    std::error_code ignored;  // a folder someone else removed is no failure
    for (const auto& dir : made_) std::filesystem::remove_all(dir, ignored);
  }
  std::filesystem::path get(const std::string& name) {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                      fmt::format("kvsim-{}-{}", ::getpid(), name);
    const std::lock_guard lock(mutex_);
    std::filesystem::create_directories(dir);
    made_.insert(dir);
    return dir;
  }

 private:
  std::mutex mutex_;
  std::set<std::filesystem::path> made_;
};

/// The folder "kvsim-PID-NAME" in the temporary directory, removed at exit.
inline std::filesystem::path scratch_folder(const std::string& name) {
  static ScratchFolders folders;
  return folders.get(name);
}

}  // namespace kvsim
