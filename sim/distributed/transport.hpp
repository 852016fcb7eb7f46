#pragma once
// The message passing under Workers, in one place: MPI when kvsim is built with it
// (mpi_transport.cpp, KVSIM_MPI), this process alone otherwise (single_transport.cpp). Only
// work_split.cpp calls it; nothing else in kvsim includes <mpi.h>.

#include <cstddef>
#include <string>
#include <vector>

namespace kvsim::distributed::transport {

struct Launch {
  std::size_t rank = 0;
  std::size_t size = 1;
  bool started = false;  // MPI_Init ran: finish() must run MPI_Finalize
};

/// How many processes the launcher (mpirun, srun) started together, read from the environment
/// it sets (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK present: at least 1); 0 when none did.
std::size_t launched_processes();

/// Starts MPI when a launcher started this process; otherwise rank 0 of 1. Without MPI compiled
/// in, throws InputError when the launcher started several copies (each would run everything).
Launch start(int& argc, char**& argv);

/// Ends MPI (MPI_Finalize). Collective: every rank calls it, after its last gather.
void finish();

/// Every rank's `mine`, on rank 0 in rank order (rank 0's own first); other ranks get an empty
/// vector. Collective: every rank of a started launch calls it the same number of times.
std::vector<std::string> gather(const std::string& mine, const Launch& launch);

}  // namespace kvsim::distributed::transport
