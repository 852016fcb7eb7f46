// Replays every committed fuzz crasher (tests/fuzz/crashers/<target>/*) through its target, in
// the default build: an input that once crashed kvsim, hung it or escaped as an internal error
// must now be read or refused with an InputError.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/fuzz/targets.hpp"

namespace kvsim::fuzz {
namespace {

namespace fs = std::filesystem;

std::string contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(FuzzCrashers, EveryCommittedCrasherIsReadOrRefusedWithAnInputError) {
  const fs::path root = fs::path(KVSIM_SOURCE_DIR) / "tests/fuzz/crashers";
  std::size_t replayed = 0;
  for (const NamedTarget& target : targets()) {
    const fs::path dir = root / target.name;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().filename() == "README.md") continue;
      SCOPED_TRACE(entry.path().string());
      EXPECT_NO_THROW(target.run(contents(entry.path())));
      ++replayed;
    }
  }
  // One or more crashers are committed (tests/fuzz/crashers); an empty replay would pass vacuously.
  EXPECT_GT(replayed, 0u);
}

}  // namespace
}  // namespace kvsim::fuzz
