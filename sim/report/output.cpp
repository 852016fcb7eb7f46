#include "sim/report/output.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/input_error.hpp"
#include "sim/report/temporaries.hpp"

namespace kvsim::report {
namespace {

namespace fs = std::filesystem;

constexpr const char* kManifest = ".kvsim-output";

// Every file name a kvsim command writes into an output directory: what a directory without a
// manifest may hold and still be taken for an earlier run's output.
const std::set<std::string>& output_names() {
  static const std::set<std::string> names{
      "results.json", "prefill.csv",   "breakdown.csv",    "scenario.resolved.json",
      "trace.json",   "search.json",   "search_trace.csv", "landscape.csv",
      "sweep.csv",    "summary.json",  "requests.csv",     "tokens.csv",
      "timeline.csv", "compare.json",  "compare.md",       "fit.md",
      "validation.csv", "validation.md",
      "plan.json",    "plan.csv",      "plan.md",          "pareto.csv",       "plan.scenario.json"};
  return names;
}

std::string temporary_name(const std::string& name) { return "." + name + ".tmp"; }

bool is_temporary_of_ours(const std::string& file, const std::set<std::string>& previous) {
  if (file.size() < 6 || file.front() != '.' || !file.ends_with(".tmp")) return false;
  const std::string name = file.substr(1, file.size() - 5);
  return output_names().count(name) != 0 || previous.count(name) != 0;
}

std::set<std::string> read_manifest(const fs::path& dir) {
  std::set<std::string> names;
  std::FILE* f = std::fopen((dir / kManifest).c_str(), "r");
  if (f == nullptr) return names;
  char line[4096];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    std::string name(line);
    while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
    // Only plain names: a manifest never sends a removal outside its directory.
    if (!name.empty() && name.find('/') == std::string::npos && name != "." && name != "..") {
      names.insert(name);
    }
  }
  std::fclose(f);
  return names;
}

// The entries of a manifest-less directory that are not kvsim's outputs (the first few).
std::vector<std::string> foreign_entries(const fs::path& dir) {
  std::vector<std::string> foreign;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool ours = entry.is_regular_file() &&
                      (output_names().count(name) != 0 || is_temporary_of_ours(name, {}));
    if (!ours) foreign.push_back(name);
  }
  std::sort(foreign.begin(), foreign.end());
  if (foreign.size() > 5) foreign.resize(5);
  return foreign;
}

}  // namespace

OutputDirectory::OutputDirectory(std::string path) : path_(std::move(path)) {
  try {
    open();
  } catch (const fs::filesystem_error& e) {  // e.g. a directory that cannot be listed
    throw InputError(path_, "", fmt::format("cannot use the output directory: {}",
                                            e.code().message()));
  }
}

void OutputDirectory::open() {
  std::error_code ec;
  const fs::file_status status = fs::status(path_, ec);
  if (fs::exists(status) && !fs::is_directory(status)) {
    throw InputError(path_, "", "the output directory is a file (or something else that is "
                                "not a directory); choose another --out");
  }
  fs::create_directories(path_, ec);
  if (ec) {
    throw InputError(path_, "", fmt::format("cannot create the output directory: {}",
                                            ec.message()));
  }
  if (fs::exists(fs::path(path_) / kManifest)) {
    previous_ = read_manifest(path_);
  } else {
    // No manifest: an empty directory, or an earlier run of a kvsim without manifests.
    const std::vector<std::string> foreign = foreign_entries(path_);
    if (!foreign.empty()) {
      throw InputError(path_, "", fmt::format(
          "the output directory holds files kvsim did not write ({}); kvsim writes only into "
          "a new or empty directory or one holding an earlier kvsim run's output, so as never "
          "to mix with or delete other files: choose another --out or empty it",
          fmt::join(foreign, ", ")));
    }
    for (const auto& entry : fs::directory_iterator(path_)) {
      previous_.insert(entry.path().filename().string());
    }
  }
  for (const auto& entry : fs::directory_iterator(path_, ec)) {
    const std::string name = entry.path().filename().string();
    if (is_temporary_of_ours(name, previous_)) fs::remove(entry.path(), ec);
  }
}

OutputDirectory::~OutputDirectory() {
  if (!committed_) discard();
}

void OutputDirectory::discard() noexcept {
  for (Pending& p : pending_) {
    if (p.file != nullptr) std::fclose(p.file);
    p.file = nullptr;
    std::remove(p.temporary.c_str());
    untrack_temporary(p.slot);
  }
  pending_.clear();
}

void OutputDirectory::fail(const std::string& what, int error) {
  discard();
  throw InputError(path_, "", fmt::format("{}: {}", what, std::strerror(error)));
}

std::FILE* OutputDirectory::open_temporary(const std::string& name) {
  const std::string temporary = (fs::path(path_) / temporary_name(name)).string();
  const int slot = track_temporary(temporary);
  std::FILE* f = std::fopen(temporary.c_str(), "wb");
  if (f == nullptr) {
    const int error = errno;
    untrack_temporary(slot);
    fail(fmt::format("cannot write {}", name), error);
  }
  pending_.push_back({name, temporary, f, slot});
  return f;
}

std::FILE* OutputDirectory::stream(const std::string& name) { return open_temporary(name); }

void OutputDirectory::add(const std::string& name, const std::string& contents) {
  std::FILE* f = open_temporary(name);
  if (std::fwrite(contents.data(), 1, contents.size(), f) != contents.size()) {
    fail(fmt::format("cannot write {}", name), errno);
  }
}

void OutputDirectory::commit() {
  std::string manifest;
  for (Pending& p : pending_) {
    // fclose flushes: a full disk shows here at the latest.
    const bool ok = std::ferror(p.file) == 0 && std::fclose(p.file) == 0;
    p.file = nullptr;
    if (!ok) fail(fmt::format("cannot write {}", p.name), errno);
    manifest += p.name + "\n";
  }
  add(kManifest, manifest);
  Pending& list = pending_.back();
  if (std::fclose(list.file) != 0) {
    list.file = nullptr;
    fail("cannot write the manifest", errno);
  }
  list.file = nullptr;
  for (const Pending& p : pending_) {
    if (std::rename(p.temporary.c_str(), (fs::path(path_) / p.name).c_str()) != 0) {
      fail(fmt::format("cannot write {}", p.name), errno);
    }
    untrack_temporary(p.slot);
  }
  std::set<std::string> written;
  for (const Pending& p : pending_) written.insert(p.name);
  std::error_code ec;
  for (const std::string& name : previous_) {
    if (written.count(name) == 0) fs::remove(fs::path(path_) / name, ec);
  }
  pending_.clear();
  committed_ = true;
}

void write_output(const std::string& directory, const std::vector<OutputFile>& files) {
  OutputDirectory out(directory);
  for (const auto& [name, contents] : files) out.add(name, contents);
  out.commit();
}

void write_file(const std::string& path, const std::string& contents) {
  const fs::path p(path);
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    throw InputError(path, "", "is a directory; give the path of the file to write");
  }
  fs::create_directories(dir, ec);
  if (ec) {
    throw InputError(dir.string(), "", fmt::format("cannot create the directory: {}",
                                                   ec.message()));
  }
  const std::string temporary = (dir / temporary_name(p.filename().string())).string();
  const int slot = track_temporary(temporary);
  int error = 0;  // the first errno of opening, writing, closing and renaming
  if (std::FILE* f = std::fopen(temporary.c_str(), "wb"); f == nullptr) {
    error = errno;
  } else {
    if (std::fwrite(contents.data(), 1, contents.size(), f) != contents.size()) error = errno;
    if (std::fclose(f) != 0 && error == 0) error = errno;
  }
  if (error == 0 && std::rename(temporary.c_str(), path.c_str()) != 0) error = errno;
  untrack_temporary(slot);
  if (error != 0) {
    std::remove(temporary.c_str());
    throw InputError(path, "", fmt::format("cannot write the file: {}", std::strerror(error)));
  }
}

void remove_temporaries_on_signal() noexcept { unlink_tracked_temporaries(); }

}  // namespace kvsim::report
