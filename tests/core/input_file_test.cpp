#include "sim/core/input_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "sim/core/input_error.hpp"
#include "tests/core/scratch_folder.hpp"

namespace kvsim {
namespace {

namespace fs = std::filesystem;

std::string message_of(const std::string& path) {
  try {
    read_input_file(path);
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError for " << path;
  return "";
}

// Sets an environment variable for one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

fs::path scratch(const std::string& name) {
  return scratch_folder("input-file") / name;
}

}  // namespace

TEST(InputFile, ReadsARegularFileWhole) {
  const fs::path p = scratch("a.json");
  std::ofstream(p) << "{\"a\": 1}\n";
  EXPECT_EQ(read_input_file(p.string()), "{\"a\": 1}\n");
}

TEST(InputFile, RefusesDevicesAndDirectoriesInsteadOfReadingForever) {
  // /dev/zero used to be read until memory ran out.
  EXPECT_NE(message_of("/dev/zero").find("/dev/zero: is a device or socket, not a file"),
            std::string::npos);
  EXPECT_NE(message_of(fs::temp_directory_path().string()).find("is a directory"),
            std::string::npos);
  EXPECT_NE(message_of("/no/such/file.json").find("cannot open file"), std::string::npos);
}

TEST(InputFile, ReadsANamedPipeAsProcessSubstitutionGivesOne) {
  const fs::path fifo = scratch("pipe");
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] { std::ofstream(fifo) << "x,y\n1,2\n"; });
  EXPECT_EQ(read_input_file(fifo.string()), "x,y\n1,2\n");
  writer.join();
}

TEST(InputFile, StopsAtTheSizeLimitWithAMessageNamingTheVariable) {
  const fs::path p = scratch("big.csv");
  std::ofstream(p) << std::string(2000, 'x');
  const ScopedEnv limit("KVSIM_MAX_INPUT_BYTES", "1KiB");
  EXPECT_EQ(max_input_bytes(), 1024u);
  const std::string m = message_of(p.string());
  EXPECT_NE(m.find("larger than the input limit of 1024 bytes"), std::string::npos) << m;
  EXPECT_NE(m.find("KVSIM_MAX_INPUT_BYTES"), std::string::npos) << m;
}

TEST(InputFile, ThePipeLimitIsCountedWhileReading) {
  // A pipe has no size up front: 2000 bytes through it pass a 1000-byte limit while being read.
  // (Fewer than a pipe buffer's 64 KiB, so the writer never blocks on a reader that gave up.)
  const fs::path fifo = scratch("big-pipe");
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const ScopedEnv limit("KVSIM_MAX_INPUT_BYTES", "1000");
  std::thread writer([&] { std::ofstream(fifo) << std::string(2000, 'x'); });
  EXPECT_NE(message_of(fifo.string()).find("larger than the input limit of 1000 bytes"),
            std::string::npos);
  writer.join();
}

TEST(InputFile, DefaultLimitIsOneGibibyteAndABadSettingIsAnInputError) {
  EXPECT_EQ(max_input_bytes(), 1024u * 1024 * 1024);
  const ScopedEnv limit("KVSIM_MAX_INPUT_BYTES", "lots");
  EXPECT_THROW(max_input_bytes(), InputError);
}

}  // namespace kvsim
