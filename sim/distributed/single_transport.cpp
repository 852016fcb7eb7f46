// The transport of a kvsim built without MPI: this process alone (see transport.hpp).
#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/distributed/transport.hpp"

namespace kvsim::distributed::transport {

Launch start(int& /*argc*/, char**& /*argv*/) {
  if (const std::size_t n = launched_processes(); n > 1) {
    // Each copy would run every item and write the same outputs over each other.
    throw InputError("", "", fmt::format(
        "this kvsim was built without MPI (KVSIM_MPI=OFF or no MPI found), but a launcher "
        "started {} copies of it; run it as one process, use --shard K/N and kvsim merge, or "
        "rebuild with MPI (libopenmpi-dev)", n));
  }
  return Launch{};
}

void finish() {}

std::vector<std::string> gather(const std::string& mine, const Launch& /*launch*/) {
  return {mine};
}

}  // namespace kvsim::distributed::transport
