#pragma once
// Spreading a command's independent items (sweep points, plan candidates) over this run's
// workers, and gathering their results as one process would have produced them.
//
// Workers are MPI ranks when mpirun (or srun) launched kvsim built with MPI, else this process
// alone; a --shard K/N run computes only shard K's items (assignment.hpp) and leaves the rest to
// other runs, merged later (partial.hpp, `kvsim merge`). Inside each worker the items run on
// oneTBB threads. Results are strings in item order, so the output is byte-identical for any
// count of ranks, shards or threads.
//
// main() makes the one Workers object first (it calls MPI_Init) and calls finished() once the
// command succeeded; commands call map_items. Ranks other than 0 get empty results and must print
// nothing and write no files.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/distributed/assignment.hpp"
#include "sim/distributed/transport.hpp"

namespace kvsim::distributed {

class Workers {
 public:
  /// Starts MPI when a launcher started this process (transport.hpp); installs itself as the
  /// workers map_items uses. Throws InputError when several copies run without MPI compiled in.
  Workers(int& argc, char**& argv);
  /// This process alone (tests).
  Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;
  /// Ends MPI only after finished(): a rank that failed exits without MPI_Finalize, and the
  /// launcher then ends the other ranks instead of leaving them waiting for it.
  ~Workers();

  std::size_t rank() const { return launch_.rank; }
  std::size_t size() const { return launch_.size; }
  bool root() const { return launch_.rank == 0; }
  /// Whether MPI is running (a launcher started this process and MPI is compiled in).
  bool mpi() const { return launch_.started; }

  /// Under a shard, map_items evaluates only the shard's items.
  void set_shard(std::optional<Shard> shard) { shard_ = shard; }
  const std::optional<Shard>& shard() const { return shard_; }

  /// The command succeeded on this rank: MPI_Finalize may run.
  void finished() { finished_ = true; }

  /// The installed workers; nullptr when none (map_items then runs in this process alone).
  static Workers* current();

  /// Every rank's `mine` on rank 0, in rank order (transport::gather).
  std::vector<std::string> gather(const std::string& mine) const;

 private:
  transport::Launch launch_;
  std::optional<Shard> shard_;
  bool finished_ = false;
  Workers* previous_ = nullptr;
};

using Evaluate = std::function<std::string(std::size_t)>;
/// `done` of this process's `total` items finished; called on rank 0 only, one call at a time.
using ProgressReport = std::function<void(std::size_t done, std::size_t total)>;

/// Evaluates items [0, count) spread over this run's workers (MPI ranks under mpirun, a
/// --shard's share, or this process alone) and returns every item's result string in index order
/// (on rank 0; other ranks get an empty vector and must write nothing). Under --shard the items
/// of other shards are left empty strings: write the shard's with partial.hpp.
/// When items throw, the error of the lowest failing index is thrown on rank 0 (the original
/// exception when rank 0 evaluated it; an InputError, or a std::runtime_error for any other
/// error, carrying the same message when another rank did) after every item has finished, so
/// errors are the same for any split.
std::vector<std::string> map_items(std::size_t count, const Evaluate& evaluate);
std::vector<std::string> map_items(std::size_t count, const Evaluate& evaluate,
                                   const ProgressReport& progress);

/// The items this run computes: all, or a shard's.
std::vector<std::size_t> run_items(std::size_t count);

}  // namespace kvsim::distributed
