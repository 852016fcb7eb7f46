#pragma once
// Reading a user's input file whole, safely: the one function every reader (scenario, sweep,
// measurements, Hugging Face config, workload trace, predictor, profile, CSV) reads through.
//
// It refuses what is not a file (a directory, a device such as /dev/zero, a socket) with an
// InputError naming the path, reads regular files and named pipes (so `<(...)` process
// substitution works), and stops at a size limit instead of exhausting memory: 1 GiB, or the
// environment variable KVSIM_MAX_INPUT_BYTES (a byte count, or a size such as "4GiB").

#include <cstdint>
#include <string>

namespace kvsim {

/// The whole contents of `path`; throws InputError when it is not a readable regular file or
/// named pipe, or is larger than max_input_bytes().
std::string read_input_file(const std::string& path);

/// The input size limit in bytes: KVSIM_MAX_INPUT_BYTES when set (an InputError when it does
/// not parse), else 1 GiB.
std::uint64_t max_input_bytes();

}  // namespace kvsim
