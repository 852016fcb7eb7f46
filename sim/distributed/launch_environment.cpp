// Recognising a launcher's processes from the environment it gives them (both transports).
#include <cstdlib>
#include <string>

#include "sim/distributed/transport.hpp"

namespace kvsim::distributed::transport {

std::size_t launched_processes() {
  // Open MPI's mpirun; MPICH's hydra and Slurm's PMI-2; PMIx (Open MPI 5, srun --mpi=pmix).
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    if (const char* value = std::getenv(name)) {
      char* end = nullptr;
      const unsigned long n = std::strtoul(value, &end, 10);
      if (end != value && *end == '\0' && n > 0) return static_cast<std::size_t>(n);
    }
  }
  return std::getenv("PMIX_RANK") != nullptr ? 1 : 0;
}

}  // namespace kvsim::distributed::transport
