#include "sim/core/input_file.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/core/units.hpp"

namespace kvsim {
namespace {

constexpr std::uint64_t kDefaultLimit = std::uint64_t{1} << 30;  // bytes (1 GiB)
constexpr const char* kLimitVariable = "KVSIM_MAX_INPUT_BYTES";

std::string too_large(std::uint64_t limit) {
  return fmt::format("the file is larger than the input limit of {} bytes ({}); set {} to "
                     "raise it",
                     limit, format_bytes(static_cast<double>(limit)), kLimitVariable);
}

// Refuses anything but a regular file or a named pipe, before opening it: opening a device
// such as /dev/zero would read forever, and a directory "opens" but reads nothing.
void check_kind(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found || (ec && !fs::exists(status))) {
    throw InputError(path, "", "cannot open file (does it exist and is it readable?)");
  }
  if (fs::is_regular_file(status) || fs::is_fifo(status)) return;
  const char* kind = fs::is_directory(status) ? "a directory" : "a device or socket";
  throw InputError(path, "", fmt::format("is {}, not a file; kvsim reads regular files and "
                                         "named pipes",
                                         kind));
}

}  // namespace

std::uint64_t max_input_bytes() {
  const char* text = std::getenv(kLimitVariable);
  if (text == nullptr || *text == '\0') return kDefaultLimit;
  double bytes = 0;
  try {
    bytes = parse_bytes(text);
  } catch (const UnitError&) {
    char* end = nullptr;
    bytes = std::strtod(text, &end);
    if (end == text || *end != '\0') bytes = -1;
  }
  // 2^63 bytes: far past any real file, and still exact in a uint64.
  if (!(bytes >= 1 && bytes < 9.2e18)) {
    throw InputError(kLimitVariable, "",
                     fmt::format("'{}' is not a size; give a byte count such as 2147483648 or a "
                                 "size such as \"2GiB\"",
                                 text));
  }
  return static_cast<std::uint64_t>(std::floor(bytes));
}

std::string read_input_file(const std::string& path) {
  check_kind(path);
  const std::uint64_t limit = max_input_bytes();
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);  // fails for pipes: read and count
  if (!ec && size > limit) throw InputError(path, "", too_large(limit));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "", "cannot open file (does it exist and is it readable?)");
  std::string text;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    const auto got = static_cast<std::size_t>(in.gcount());
    if (text.size() + got > limit) throw InputError(path, "", too_large(limit));
    text.append(chunk, got);
  }
  if (in.bad()) throw InputError(path, "", "read error (is the file readable?)");
  return text;
}

}  // namespace kvsim
