// Data movement: HBM copies, host-device copies over PCIe (pinned), and NCCL collectives across
// every GPU of the machine (all-reduce, all-gather, and point-to-point send/receive between GPU 0
// and GPU 1) when more than one is present.
#include <chrono>
#include <utility>

#include "bench.hpp"

#ifdef KVSIM_HAVE_NCCL
#include <nccl.h>
#endif

namespace microbench {

void bench_copies(Writer& w, const Buffers& buffers) {
  void* host = nullptr;
  const std::size_t largest = std::min(std::size_t{1} << 30, buffers.capacity * 2);
  check(cudaMallocHost(&host, largest), "pinned host memory");
  for (std::size_t bytes = 1 << 20; bytes <= largest; bytes *= 4) {
    const std::pair<const char*, std::function<void()>> copies[] = {
        {"device_to_device",
         [&] { cudaMemcpyAsync(buffers.c, buffers.a, bytes, cudaMemcpyDeviceToDevice, stream); }},
        {"host_to_device",
         [&] { cudaMemcpyAsync(buffers.a, host, bytes, cudaMemcpyHostToDevice, stream); }},
        {"device_to_host",
         [&] { cudaMemcpyAsync(host, buffers.a, bytes, cudaMemcpyDeviceToHost, stream); }}};
    for (const auto& [kind, launch] : copies) {
      w.point(format("\"op\": \"copy\", \"kind\": \"%s\", \"bytes\": %zu", kind, bytes),
              time_it(launch));
    }
  }
  cudaFreeHost(host);
}

#ifdef KVSIM_HAVE_NCCL

namespace {

void check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) {
    std::fprintf(stderr, "kvsim-microbench: %s: %s\n", what, ncclGetErrorString(r));
    std::exit(3);
  }
}

// One communicator per GPU in this process (ncclCommInitAll), as nccl-tests' threaded mode.
class Ranks {
 public:
  explicit Ranks(int n, std::size_t bytes) : n_(n), comms_(n), streams_(n), send_(n), recv_(n) {
    std::vector<int> devices(n);
    for (int i = 0; i < n; ++i) devices[i] = i;
    check(ncclCommInitAll(comms_.data(), n, devices.data()), "ncclCommInitAll");
    for (int i = 0; i < n; ++i) {
      microbench::check(cudaSetDevice(i), "device");
      microbench::check(cudaStreamCreate(&streams_[i]), "stream");
      microbench::check(cudaMalloc(&send_[i], bytes), "send buffer");
      microbench::check(cudaMalloc(&recv_[i], bytes * n), "receive buffer");
      microbench::check(cudaMemset(send_[i], 0, bytes), "memset");
    }
    microbench::check(cudaSetDevice(0), "device");
  }
  ~Ranks() {
    for (int i = 0; i < n_; ++i) {
      cudaSetDevice(i);
      cudaFree(send_[i]);
      cudaFree(recv_[i]);
      cudaStreamDestroy(streams_[i]);
      ncclCommDestroy(comms_[i]);
    }
    cudaSetDevice(0);
  }
  Ranks(const Ranks&) = delete;
  Ranks& operator=(const Ranks&) = delete;

  void all_reduce(std::size_t bytes) {
    group([&](int i) {
      check(ncclAllReduce(send_[i], recv_[i], bytes / 2, ncclHalf, ncclSum, comms_[i],
                          streams_[i]),
            "all-reduce");
    });
  }
  void all_gather(std::size_t bytes) {  // bytes: each rank's share
    group([&](int i) {
      check(ncclAllGather(send_[i], recv_[i], bytes, ncclChar, comms_[i], streams_[i]),
            "all-gather");
    });
  }
  void send_recv(std::size_t bytes) {  // GPU 0 to GPU 1
    group([&](int i) {
      if (i == 0) check(ncclSend(send_[0], bytes, ncclChar, 1, comms_[0], streams_[0]), "send");
      if (i == 1) check(ncclRecv(recv_[1], bytes, ncclChar, 0, comms_[1], streams_[1]), "recv");
    });
  }

  /// Host-timed like nccl-tests: `iterations` back-to-back calls between full synchronisations,
  /// per call; the median of the repeats.
  Timing time(const std::function<void()>& call, int iterations) {
    for (int i = 0; i < options.warmup; ++i) call();
    synchronise();
    std::vector<double> ms;
    for (int r = 0; r < options.repeats; ++r) {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < iterations; ++i) call();
      synchronise();
      const std::chrono::duration<double, std::milli> took =
          std::chrono::steady_clock::now() - start;
      ms.push_back(took.count() / iterations);
    }
    return summarise(std::move(ms));
  }

 private:
  void group(const std::function<void(int)>& per_rank) {
    check(ncclGroupStart(), "group start");
    for (int i = 0; i < n_; ++i) per_rank(i);
    check(ncclGroupEnd(), "group end");
  }
  void synchronise() {
    for (int i = 0; i < n_; ++i) {
      microbench::check(cudaSetDevice(i), "device");
      microbench::check(cudaStreamSynchronize(streams_[i]), "collective");
    }
    microbench::check(cudaSetDevice(0), "device");
  }

  int n_;
  std::vector<ncclComm_t> comms_;
  std::vector<cudaStream_t> streams_;
  std::vector<void*> send_;
  std::vector<void*> recv_;
};

}  // namespace

void bench_collectives(Writer& w) {
  int devices = 0;
  check(cudaGetDeviceCount(&devices), "device count");
  if (devices < 2) {
    std::fprintf(stderr, "kvsim-microbench: one GPU: no collectives to measure\n");
    return;
  }
  const std::size_t largest = options.quick ? std::size_t{64} << 20 : std::size_t{1} << 30;
  for (int n = 2; n <= devices; n *= 2) {
    Ranks ranks(n, largest);
    for (std::size_t bytes = 1024; bytes <= largest; bytes *= 4) {
      const int iterations = bytes <= (std::size_t{1} << 20) ? 20 : 5;
      const std::pair<const char*, std::function<void()>> calls[] = {
          {"all_reduce", [&] { ranks.all_reduce(bytes); }},
          {"all_gather", [&] { ranks.all_gather(bytes / n); }},
          {"send_recv", [&] { ranks.send_recv(bytes); }}};
      for (const auto& [kind, call] : calls) {
        if (std::string(kind) == "send_recv" && n != 2) continue;  // one pair is enough
        w.point(format("\"op\": \"collective\", \"kind\": \"%s\", \"gpus\": %d, \"bytes\": %zu, "
                       "\"nccl\": %d",
                       kind, n, bytes, NCCL_VERSION_CODE),
                ranks.time(call, iterations));
      }
    }
  }
}

#else

void bench_collectives(Writer&) {
  std::fprintf(stderr, "kvsim-microbench: built without NCCL: collectives not measured\n");
}

#endif

}  // namespace microbench
