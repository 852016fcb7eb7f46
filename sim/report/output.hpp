#pragma once
// Writing a run's output directory all at once: every file is rendered in memory first, then
// each is written to a temporary name and renamed, so an error never leaves half a result.

#include <string>
#include <utility>
#include <vector>

namespace kvsim::report {

using OutputFile = std::pair<std::string, std::string>;  // file name, contents

/// Creates `directory` if needed and writes the files; throws std::runtime_error on I/O errors
/// (after removing any temporary it made).
void write_output(const std::string& directory, const std::vector<OutputFile>& files);
/// One file, written the same way (its directory created if needed).
void write_file(const std::string& path, const std::string& contents);

}  // namespace kvsim::report
