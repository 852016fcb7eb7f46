// The MPI transport (KVSIM_MPI): MPI_Init/MPI_Finalize and the gather to rank 0, the only code
// in kvsim that calls MPI (see transport.hpp).
#include <mpi.h>

#include <algorithm>
#include <cstdint>

#include "sim/distributed/transport.hpp"

namespace kvsim::distributed::transport {
namespace {

constexpr int length_tag = 1;
constexpr int data_tag = 2;
// MPI counts are int: strings travel in pieces of at most 1 GiB.
constexpr std::size_t piece = std::size_t{1} << 30;

void send_to_root(const std::string& mine) {
  const std::uint64_t length = mine.size();
  MPI_Send(&length, 1, MPI_UINT64_T, 0, length_tag, MPI_COMM_WORLD);
  for (std::size_t at = 0; at < mine.size(); at += piece) {
    const int n = static_cast<int>(std::min(piece, mine.size() - at));
    MPI_Send(mine.data() + at, n, MPI_CHAR, 0, data_tag, MPI_COMM_WORLD);
  }
}

std::string receive_from(int rank) {
  std::uint64_t length = 0;
  MPI_Recv(&length, 1, MPI_UINT64_T, rank, length_tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  std::string text(length, '\0');
  for (std::size_t at = 0; at < text.size(); at += piece) {
    const int n = static_cast<int>(std::min(piece, text.size() - at));
    MPI_Recv(text.data() + at, n, MPI_CHAR, rank, data_tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
  return text;
}

}  // namespace

Launch start(int& argc, char**& argv) {
  // Only under a launcher: a lone Open MPI process would start a daemon ("singleton init") for
  // nothing, slowly, and fails where it may not open sockets.
  if (launched_processes() == 0) return Launch{};
  MPI_Init(&argc, &argv);
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return Launch{static_cast<std::size_t>(rank), static_cast<std::size_t>(size), true};
}

void finish() { MPI_Finalize(); }

std::vector<std::string> gather(const std::string& mine, const Launch& launch) {
  if (!launch.started) return {mine};
  if (launch.rank != 0) {
    send_to_root(mine);
    return {};
  }
  std::vector<std::string> all{mine};
  for (std::size_t r = 1; r < launch.size; ++r) all.push_back(receive_from(static_cast<int>(r)));
  return all;
}

}  // namespace kvsim::distributed::transport
