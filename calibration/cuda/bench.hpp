#pragma once
// kvsim-microbench's shared parts: error checks, options, the timer and the measurement writer.
//
// Timing: CUDA events around each launch after warm-up; the median of the repeats and the spread
// between their 10th and 90th percentiles. Clocks are left as the driver sets them (locking them
// needs root on the host; the device tool's METHOD.md says not to).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace microbench {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "kvsim-microbench: %s: %s\n", what, cudaGetErrorString(e));
    std::exit(3);
  }
}
inline void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "kvsim-microbench: %s: cuBLAS status %d\n", what, static_cast<int>(s));
    std::exit(3);
  }
}

struct Options {
  std::string out = "measurements.json";
  std::vector<std::string> only;  // sections to run; empty: all
  bool quick = false;
  bool check_only = false;        // run the correctness checks and exit
  int repeats = 30;
  int warmup = 5;

  bool runs(const std::string& section) const {
    return only.empty() || std::find(only.begin(), only.end(), section) != only.end();
  }
};

inline Options options;
inline cudaStream_t stream;

struct Timing {
  double median_ms;
  double spread_ms;
  int repeats;
};

/// Median and 10-90% spread of per-repeat times (ms).
inline Timing summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double q) { return ms[static_cast<std::size_t>(q * (ms.size() - 1))]; };
  return {at(0.5), at(0.9) - at(0.1), static_cast<int>(ms.size())};
}

/// Times `launch` (work queued on `stream`) with CUDA events.
inline Timing time_it(const std::function<void()>& launch) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "event");
  check(cudaEventCreate(&stop), "event");
  for (int i = 0; i < options.warmup; ++i) launch();
  check(cudaStreamSynchronize(stream), "warm-up");
  std::vector<double> ms;
  for (int i = 0; i < options.repeats; ++i) {
    check(cudaEventRecord(start, stream), "record");
    launch();
    check(cudaEventRecord(stop, stream), "record");
    check(cudaEventSynchronize(stop), "sync");
    float t = 0;
    check(cudaEventElapsedTime(&t, start, stop), "elapsed");
    ms.push_back(t);
  }
  check(cudaGetLastError(), "kernel");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return summarise(std::move(ms));
}

/// The measurement file, written as the points arrive (to FILE.tmp, renamed when complete).
class Writer {
 public:
  explicit Writer(const std::string& path) : path_(path + ".tmp"), final_(path) {
    f_ = std::fopen(path_.c_str(), "w");
    if (f_ == nullptr) {
      std::fprintf(stderr, "kvsim-microbench: cannot write %s\n", path_.c_str());
      std::exit(2);
    }
  }
  FILE* file() { return f_; }
  void point(const std::string& fields, const Timing& t) {
    std::fprintf(f_, "%s    {%s, \"median_ms\": %.6f, \"spread_ms\": %.6f, \"repeats\": %d}",
                 first_ ? "" : ",\n", fields.c_str(), t.median_ms, t.spread_ms, t.repeats);
    std::fflush(f_);
    first_ = false;
    ++count_;
  }
  void finish() {
    std::fprintf(f_, "\n  ]\n}\n");
    std::fclose(f_);
    std::rename(path_.c_str(), final_.c_str());
    std::fprintf(stderr, "kvsim-microbench: %d points written to %s\n", count_, final_.c_str());
  }

 private:
  std::string path_;
  std::string final_;
  FILE* f_;
  bool first_ = true;
  int count_ = 0;
};

template <typename... Args>
std::string format(const char* pattern, Args... args) {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, pattern, args...);
  return buffer;
}

inline unsigned blocks_for(std::size_t n, unsigned threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

/// Device buffers shared by the sections (each `capacity` fp16 elements).
struct Buffers {
  std::size_t capacity = 0;
  void* a = nullptr;
  void* b = nullptr;
  void* c = nullptr;
};

struct ModelShape {
  const char* name;
  int hidden, heads, kv_heads, head_dim, intermediate;
  bool gated;
};

// Shapes of catalog models (models/catalog/llms): the GEMMs and attention kvsim asks the
// profile for.
inline const ModelShape kModels[] = {
    {"llama-2-7b", 4096, 32, 32, 128, 11008, true},
    {"llama-2-13b", 5120, 40, 40, 128, 13824, true},
    {"llama-3-8b", 4096, 32, 8, 128, 14336, true},
    {"llama-3-70b", 8192, 64, 8, 128, 28672, true},
    {"falcon-7b", 4544, 71, 1, 64, 18176, false},
    {"qwen2-72b", 8192, 64, 8, 128, 29568, true},
};

/// Token counts (GEMM rows): dense at small counts, geometric above.
inline std::vector<int> token_counts() {
  if (options.quick) return {1, 16, 128, 512, 2048, 8192};
  std::vector<int> m;
  for (int v = 1; v <= 64; v *= 2) m.push_back(v);
  for (int v = 96; v <= 512; v += 32) m.push_back(v);
  for (int v = 768; v <= 32768; v = v * 3 / 2) m.push_back(v);
  m.push_back(32768);
  return m;
}

// The sections (one file each).
void bench_gemms(Writer& w, const Buffers& buffers);
void bench_eager_attention(Writer& w, const Buffers& buffers);
void bench_decode_attention(Writer& w);
bool check_decode_attention();
void bench_elementwise(Writer& w, const Buffers& buffers);
void bench_copies(Writer& w, const Buffers& buffers);
void bench_collectives(Writer& w);

}  // namespace microbench
