#pragma once
// Writing a run's output directory all at once, holding exactly that run's files.
//
// Every file is written to a hidden temporary (".NAME.tmp") while the run goes on — rendered in
// memory (add) or streamed row by row (stream) — and commit() renames them all into place
// together, so an error or an interrupted run never leaves half a result, nor a mix of two.
//
// One run's files: kvsim lists the names it wrote in a manifest, ".kvsim-output", and the next
// run into the directory removes the listed files it does not write again (an old trace.json, a
// requests.csv the new run did not ask for). It never removes a file the manifest does not
// name. A directory without a manifest is used only when it is empty or holds nothing but files
// named as kvsim's outputs (a run of a kvsim older than manifests); anything else in it belongs
// to someone else, and kvsim refuses the directory rather than mix its output in.
//
// Temporaries are removed on any failure, and on SIGINT/SIGTERM/SIGHUP through
// remove_temporaries_on_signal(), which main's signal handler calls.

#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace kvsim::report {

using OutputFile = std::pair<std::string, std::string>;  // file name, contents

class OutputDirectory {
 public:
  /// Checks `path`, creating it if needed; throws InputError naming it when it cannot be
  /// created or written (a file in the way, no permission, a full disk) or holds files that
  /// are not kvsim's (see above). Removes temporaries an earlier, killed run left.
  explicit OutputDirectory(std::string path);
  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;
  /// Without commit(), removes every temporary: the directory keeps its previous run.
  ~OutputDirectory();

  /// A file written while the run goes on; the stream stays open until commit().
  std::FILE* stream(const std::string& name);
  /// A file rendered in memory.
  void add(const std::string& name, const std::string& contents);
  /// Puts every file in place, writes the manifest and removes the previous run's other files.
  /// Throws InputError (temporaries removed) when a file cannot be written.
  void commit();

  const std::string& path() const { return path_; }

 private:
  struct Pending {
    std::string name;
    std::string temporary;
    std::FILE* file;
    int slot;  // in the signal-cleanup table; -1 when it was full
  };
  void open();
  std::FILE* open_temporary(const std::string& name);
  void discard() noexcept;
  [[noreturn]] void fail(const std::string& what, int error);

  std::string path_;
  std::set<std::string> previous_;  // names in the manifest found on opening
  std::vector<Pending> pending_;
  bool committed_ = false;
};

/// Writes `files` into `directory` as one run (OutputDirectory: add each, commit).
void write_output(const std::string& directory, const std::vector<OutputFile>& files);
/// One file, written through a temporary and renamed (its directory created if needed; no
/// manifest: the directory is the user's). Throws InputError naming the path on failure.
void write_file(const std::string& path, const std::string& contents);

/// Removes the temporaries of every output still being written. Async-signal-safe (unlink
/// only): for a signal handler, which should then re-raise the signal.
void remove_temporaries_on_signal() noexcept;

}  // namespace kvsim::report
