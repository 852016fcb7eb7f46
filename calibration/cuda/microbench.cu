// kvsim-microbench: measures the kernels kvsim's calibrated compute model needs, on the GPU it
// runs on, and writes kvsim's measurement JSON (input of `kvsim calibrate --measurements`).
//
//   kvsim-microbench --out measurements.json [--quick] [--repeats 30] [--warmup 5]
//
// Timing: CUDA events around each launch after warm-up; the median of the repeats and the
// spread between the 10th and 90th percentiles. Clocks are left as the driver sets them
// (locking them needs root on the host; METHOD.md of the device tool says not to).
//
// Measured: GEMMs through cuBLASLt (fp16 and bf16 in, fp32 accumulate) over the projection and
// MLP shapes of the catalog's models at TP 1, 2, 4, 8 and token counts 1 to 32k (dense at small
// counts), plus a square sweep for peak; eager attention as HuggingFace runs it (batched QK^T,
// a softmax kernel, batched PV); RMSNorm, rotary, SiLU-and-multiply and residual add; HBM copy;
// host-device copies. Not measured yet: fused (FlashAttention-class) attention, which needs
// cuDNN's SDPA graph, decode attention, and collectives.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "kvsim-microbench: %s: %s\n", what, cudaGetErrorString(e));
    std::exit(3);
  }
}
void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "kvsim-microbench: %s: cuBLAS status %d\n", what, static_cast<int>(s));
    std::exit(3);
  }
}

struct Timing {
  double median_ms;
  double spread_ms;
  int repeats;
};

struct Options {
  std::string out = "measurements.json";
  bool quick = false;
  int repeats = 30;
  int warmup = 5;
};

Options options;
cudaStream_t stream;

Timing time_it(const std::function<void()>& launch) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "event");
  check(cudaEventCreate(&stop), "event");
  for (int i = 0; i < options.warmup; ++i) launch();
  check(cudaStreamSynchronize(stream), "warm-up");
  std::vector<float> ms;
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
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double q) { return ms[static_cast<std::size_t>(q * (ms.size() - 1))]; };
  return {at(0.5), at(0.9) - at(0.1), options.repeats};
}

// The measurement file, written as the points arrive.
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
  void point(const char* fields, const Timing& t) {
    std::fprintf(f_, "%s    {%s, \"median_ms\": %.6f, \"spread_ms\": %.6f, \"repeats\": %d}",
                 first_ ? "" : ",\n", fields, t.median_ms, t.spread_ms, t.repeats);
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

// ---- GEMM through cuBLASLt: Y[m x n] = X[m x k] W^T, W[n x k], row-major as in PyTorch
// (column-major: Y^T[n x m] = W[n x k] X^T[k x m]).
struct Gemm {
  cublasLtHandle_t lt;
  void* workspace;
  std::size_t workspace_bytes = 64u << 20;
  void* a;
  void* b;
  void* c;
  std::size_t capacity;  // elements per buffer

  Timing run(int m, int n, int k, cudaDataType_t type) {
    cublasLtMatmulDesc_t op;
    check(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "matmul desc");
    const cublasOperation_t transa = CUBLAS_OP_T;
    const cublasOperation_t transb = CUBLAS_OP_N;
    check(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof transa),
          "transa");
    check(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &transb, sizeof transb),
          "transb");
    cublasLtMatrixLayout_t wl, xl, yl;
    check(cublasLtMatrixLayoutCreate(&wl, type, k, n, k), "layout W");   // W^T stored k x n
    check(cublasLtMatrixLayoutCreate(&xl, type, k, m, k), "layout X");   // X^T: k x m
    check(cublasLtMatrixLayoutCreate(&yl, type, n, m, n), "layout Y");   // Y^T: n x m
    cublasLtMatmulPreference_t pref;
    check(cublasLtMatmulPreferenceCreate(&pref), "preference");
    check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                               &workspace_bytes, sizeof workspace_bytes),
          "workspace");
    cublasLtMatmulHeuristicResult_t heuristic;
    int found = 0;
    check(cublasLtMatmulAlgoGetHeuristic(lt, op, wl, xl, yl, yl, pref, 1, &heuristic, &found),
          "heuristic");
    if (found == 0) {
      std::fprintf(stderr, "kvsim-microbench: no cuBLASLt algorithm for %d x %d x %d\n", m, n, k);
      std::exit(3);
    }
    const float alpha = 1.0f;
    const float beta = 0.0f;
    const Timing t = time_it([&] {
      check(cublasLtMatmul(lt, op, &alpha, a, wl, b, xl, &beta, c, yl, c, yl, &heuristic.algo,
                           workspace, workspace_bytes, stream),
            "matmul");
    });
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(wl);
    cublasLtMatrixLayoutDestroy(xl);
    cublasLtMatrixLayoutDestroy(yl);
    cublasLtMatmulDescDestroy(op);
    return t;
  }
};

// ---- elementwise kernels, written as PyTorch's fused kernels do them.
__global__ void rms_norm(const __half* x, const __half* w, __half* y, int width, float eps) {
  const __half* row = x + static_cast<std::size_t>(blockIdx.x) * width;
  __half* out = y + static_cast<std::size_t>(blockIdx.x) * width;
  float sum = 0;
  for (int i = threadIdx.x; i < width; i += blockDim.x) {
    const float v = __half2float(row[i]);
    sum += v * v;
  }
  __shared__ float partial[32];
  for (int o = 16; o > 0; o /= 2) sum += __shfl_down_sync(0xffffffffu, sum, o);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = sum;
  __syncthreads();
  if (threadIdx.x < 32) {
    sum = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : 0.0f;
    for (int o = 16; o > 0; o /= 2) sum += __shfl_down_sync(0xffffffffu, sum, o);
    if (threadIdx.x == 0) partial[0] = rsqrtf(sum / width + eps);
  }
  __syncthreads();
  const float scale = partial[0];
  for (int i = threadIdx.x; i < width; i += blockDim.x) {
    out[i] = __float2half(__half2float(row[i]) * scale * __half2float(w[i]));
  }
}

__global__ void rotary(__half* qk, int tokens, int heads, int head_dim) {
  const std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::size_t pairs = static_cast<std::size_t>(tokens) * heads * head_dim / 2;
  if (i >= pairs) return;
  const int d = static_cast<int>(i % (head_dim / 2));
  const int token = static_cast<int>(i / (static_cast<std::size_t>(heads) * head_dim / 2));
  const float angle = token * powf(10000.0f, -2.0f * d / head_dim);
  float s, c;
  sincosf(angle, &s, &c);
  const std::size_t base = (i / (head_dim / 2)) * head_dim;
  const float a = __half2float(qk[base + d]);
  const float b = __half2float(qk[base + d + head_dim / 2]);
  qk[base + d] = __float2half(a * c - b * s);
  qk[base + d + head_dim / 2] = __float2half(a * s + b * c);
}

__global__ void silu_and_mul(const __half* gate_up, __half* out, int tokens, int width) {
  const std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<std::size_t>(tokens) * width) return;
  const std::size_t t = i / width;
  const std::size_t j = i % width;
  const float g = __half2float(gate_up[t * 2 * width + j]);
  const float u = __half2float(gate_up[t * 2 * width + width + j]);
  out[i] = __float2half(g / (1.0f + __expf(-g)) * u);
}

__global__ void residual_add(const __half* a, const __half* b, __half* out, std::size_t n) {
  const std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = __hadd(a[i], b[i]);
}

// Eager attention's softmax: one block per score row; mask, max, exp and normalise in fp32.
__global__ void causal_softmax(__half* scores, int q, int kv, float scale) {
  const std::size_t row = blockIdx.x;
  const int query = static_cast<int>(row % q);
  const int visible = kv - q + query + 1;
  __half* s = scores + row * kv;
  __shared__ float reduce[32];
  float m = -1e30f;
  for (int i = threadIdx.x; i < visible; i += blockDim.x) m = fmaxf(m, __half2float(s[i]) * scale);
  for (int o = 16; o > 0; o /= 2) m = fmaxf(m, __shfl_down_sync(0xffffffffu, m, o));
  if (threadIdx.x % 32 == 0) reduce[threadIdx.x / 32] = m;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < blockDim.x / 32; ++w) reduce[0] = fmaxf(reduce[0], reduce[w]);
  }
  __syncthreads();
  m = reduce[0];
  __syncthreads();
  float sum = 0;
  for (int i = threadIdx.x; i < visible; i += blockDim.x) sum += __expf(__half2float(s[i]) * scale - m);
  for (int o = 16; o > 0; o /= 2) sum += __shfl_down_sync(0xffffffffu, sum, o);
  if (threadIdx.x % 32 == 0) reduce[threadIdx.x / 32] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < blockDim.x / 32; ++w) reduce[0] += reduce[w];
  }
  __syncthreads();
  const float inv = 1.0f / reduce[0];
  for (int i = threadIdx.x; i < kv; i += blockDim.x) {
    s[i] = i < visible ? __float2half(__expf(__half2float(s[i]) * scale - m) * inv)
                       : __float2half(0.0f);
  }
}

unsigned blocks_for(std::size_t n, unsigned threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

struct ModelShape {
  const char* name;
  int hidden, heads, kv_heads, head_dim, intermediate;
  bool gated;
};

// Shapes of catalog models (models/catalog/llms): the GEMMs kvsim asks the profile for.
const ModelShape kModels[] = {
    {"llama-2-7b", 4096, 32, 32, 128, 11008, true},
    {"llama-2-13b", 5120, 40, 40, 128, 13824, true},
    {"llama-3-8b", 4096, 32, 8, 128, 14336, true},
    {"llama-3-70b", 8192, 64, 8, 128, 28672, true},
    {"falcon-7b", 4544, 71, 1, 64, 18176, false},
    {"qwen2-72b", 8192, 64, 8, 128, 29568, true},
};

std::vector<int> token_counts() {
  std::vector<int> m;
  if (options.quick) {
    for (int v : {1, 16, 128, 512, 2048, 8192}) m.push_back(v);
    return m;
  }
  for (int v = 1; v <= 64; v *= 2) m.push_back(v);
  for (int v = 96; v <= 512; v += 32) m.push_back(v);
  for (int v = 768; v <= 32768; v = v * 3 / 2) m.push_back(v);
  m.push_back(32768);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      options.out = argv[++i];
    } else if (a == "--quick") {
      options.quick = true;
    } else if (a == "--repeats" && i + 1 < argc) {
      options.repeats = std::max(3, std::atoi(argv[++i]));
    } else if (a == "--warmup" && i + 1 < argc) {
      options.warmup = std::max(0, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: kvsim-microbench [--out FILE] [--quick] [--repeats N] [--warmup N]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  int device = 0;
  check(cudaSetDevice(device), "set device");
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, device), "properties");
  int driver = 0;
  int runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  check(cudaStreamCreate(&stream), "stream");

  Writer w(options.out);
  const std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::fprintf(w.file(),
               "{\n  \"kind\": \"kvsim-measurements\",\n  \"date\": \"%s\",\n"
               "  \"device\": {\"name\": \"%s\", \"sm_count\": %d, \"compute_capability\": "
               "\"%d.%d\", \"memory_bytes\": %zu, \"l2_bytes\": %d},\n"
               "  \"software\": {\"cuda_driver\": %d, \"cuda_runtime\": %d, \"cublaslt\": %zu},\n"
               "  \"points\": [\n",
               date, prop.name, prop.multiProcessorCount, prop.major, prop.minor,
               prop.totalGlobalMem, prop.l2CacheSize, driver, runtime, cublasLtGetVersion());

  // Buffers large enough for the biggest GEMM (32k x 29568 output, 2 bytes).
  const std::size_t capacity = std::size_t{1} << 30;  // elements: 2 GiB each
  Gemm gemm;
  gemm.capacity = capacity;
  check(cublasLtCreate(&gemm.lt), "cuBLASLt");
  check(cudaMalloc(&gemm.workspace, gemm.workspace_bytes), "workspace");
  check(cudaMalloc(&gemm.a, capacity * 2), "A");
  check(cudaMalloc(&gemm.b, capacity * 2), "B");
  check(cudaMalloc(&gemm.c, capacity * 2), "C");
  check(cudaMemset(gemm.a, 0, capacity * 2), "memset");
  check(cudaMemset(gemm.b, 0, capacity * 2), "memset");

  char fields[512];
  const std::vector<int> ms = token_counts();
  for (const cudaDataType_t type : {CUDA_R_16F, CUDA_R_16BF}) {
    const char* dtype = type == CUDA_R_16F ? "fp16" : "bf16";
    for (const ModelShape& s : kModels) {
      for (const int tp : {1, 2, 4, 8}) {
        if (s.heads % tp != 0) continue;
        const int heads = s.heads / tp;
        const int kv_heads = s.kv_heads >= tp ? s.kv_heads / tp : 1;
        const int inter = (s.intermediate + tp - 1) / tp;
        const int shapes[4][2] = {{(heads + 2 * kv_heads) * s.head_dim, s.hidden},
                                  {s.hidden, heads * s.head_dim},
                                  {(s.gated ? 2 : 1) * inter, s.hidden},
                                  {s.hidden, inter}};
        for (const auto& nk : shapes) {
          for (const int m : ms) {
            if (static_cast<std::size_t>(m) * nk[0] > capacity ||
                static_cast<std::size_t>(m) * nk[1] > capacity) {
              continue;
            }
            const Timing t = gemm.run(m, nk[0], nk[1], type);
            std::snprintf(fields, sizeof fields,
                          "\"op\": \"gemm\", \"dtype\": \"%s\", \"m\": %d, \"n\": %d, \"k\": %d, "
                          "\"model\": \"%s\", \"tp\": %d",
                          dtype, m, nk[0], nk[1], s.name, tp);
            w.point(fields, t);
          }
        }
      }
    }
    for (int size = 1024; size <= (options.quick ? 4096 : 16384); size *= 2) {
      const Timing t = gemm.run(size, size, size, type);
      std::snprintf(fields, sizeof fields,
                    "\"op\": \"gemm\", \"dtype\": \"%s\", \"m\": %d, \"n\": %d, \"k\": %d, "
                    "\"purpose\": \"peak\"",
                    dtype, size, size, size);
      w.point(fields, t);
    }
  }

  // Eager attention, 32 heads of 128 (Llama-2-7B at TP 1): QK^T, softmax, PV per (q, kv).
  cublasHandle_t blas;
  check(cublasCreate(&blas), "cuBLAS");
  check(cublasSetStream(blas, stream), "cuBLAS stream");
  const int heads = 32;
  const int dim = 128;
  for (const int q : options.quick ? std::vector<int>{512, 2048} : std::vector<int>{128, 512, 1024, 2048, 4096, 8192}) {
    for (const int kv_extra : {0, 1024, 4096}) {
      const int kv = q + kv_extra;
      if (static_cast<std::size_t>(heads) * q * kv > capacity) continue;
      const float one = 1.0f;
      const float zero = 0.0f;
      auto scores = [&] {
        check(cublasGemmStridedBatchedEx(
                  blas, CUBLAS_OP_T, CUBLAS_OP_N, kv, q, dim, &one, gemm.a, CUDA_R_16F, dim,
                  static_cast<long long>(kv) * dim, gemm.b, CUDA_R_16F, dim,
                  static_cast<long long>(q) * dim, &zero, gemm.c, CUDA_R_16F, kv,
                  static_cast<long long>(q) * kv, heads, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
              "scores");
      };
      auto softmax = [&] {
        causal_softmax<<<static_cast<unsigned>(heads) * q, 256, 0, stream>>>(
            static_cast<__half*>(gemm.c), q, kv, 0.088f);
      };
      auto values = [&] {
        check(cublasGemmStridedBatchedEx(
                  blas, CUBLAS_OP_N, CUBLAS_OP_N, dim, q, kv, &one, gemm.a, CUDA_R_16F, dim,
                  static_cast<long long>(kv) * dim, gemm.c, CUDA_R_16F, kv,
                  static_cast<long long>(q) * kv, &zero, gemm.b, CUDA_R_16F, dim,
                  static_cast<long long>(q) * dim, heads, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
              "values");
      };
      const std::pair<const char*, std::function<void()>> parts[] = {
          {"scores", scores}, {"softmax", softmax}, {"values", values}};
      for (const auto& [part, launch] : parts) {
        const Timing t = time_it(launch);
        std::snprintf(fields, sizeof fields,
                      "\"op\": \"attention\", \"variant\": \"eager\", \"part\": \"%s\", "
                      "\"q\": %d, \"kv\": %d, \"heads\": %d, \"kv_heads\": %d, \"head_dim\": %d",
                      part, q, kv, heads, heads, dim);
        w.point(fields, t);
      }
    }
  }

  // Elementwise kernels at Llama-2-7B widths.
  for (const int tokens : ms) {
    const int hidden = 4096;
    const int inter = 11008;
    const std::size_t n = static_cast<std::size_t>(tokens) * hidden;
    auto* x = static_cast<__half*>(gemm.a);
    auto* y = static_cast<__half*>(gemm.b);
    auto* z = static_cast<__half*>(gemm.c);
    const std::pair<const char*, std::function<void()>> kernels[] = {
        {"input_norm", [&] { rms_norm<<<tokens, 256, 0, stream>>>(x, y, z, hidden, 1e-5f); }},
        {"rotary",
         [&] {
           const std::size_t pairs = static_cast<std::size_t>(tokens) * 64 * 128 / 2;
           rotary<<<blocks_for(pairs, 256), 256, 0, stream>>>(x, tokens, 64, 128);
         }},
        {"mlp_act",
         [&] {
           silu_and_mul<<<blocks_for(static_cast<std::size_t>(tokens) * inter, 256), 256, 0,
                          stream>>>(x, z, tokens, inter);
         }},
        {"residual_add",
         [&] { residual_add<<<blocks_for(n, 256), 256, 0, stream>>>(x, y, z, n); }}};
    for (const auto& [kind, launch] : kernels) {
      const Timing t = time_it(launch);
      std::snprintf(fields, sizeof fields,
                    "\"op\": \"elementwise\", \"kind\": \"%s\", \"tokens\": %d, \"width\": %d",
                    kind, tokens, hidden);
      w.point(fields, t);
    }
  }

  // Copies: HBM (device to device) and host-device over PCIe (pinned).
  void* host = nullptr;
  check(cudaMallocHost(&host, std::size_t{1} << 30), "pinned host memory");
  for (std::size_t bytes = 1 << 20; bytes <= (std::size_t{1} << 30); bytes *= 4) {
    const std::pair<const char*, std::function<void()>> copies[] = {
        {"device_to_device",
         [&] { cudaMemcpyAsync(gemm.c, gemm.a, bytes, cudaMemcpyDeviceToDevice, stream); }},
        {"host_to_device",
         [&] { cudaMemcpyAsync(gemm.a, host, bytes, cudaMemcpyHostToDevice, stream); }},
        {"device_to_host",
         [&] { cudaMemcpyAsync(host, gemm.a, bytes, cudaMemcpyDeviceToHost, stream); }}};
    for (const auto& [kind, launch] : copies) {
      const Timing t = time_it(launch);
      std::snprintf(fields, sizeof fields, "\"op\": \"copy\", \"kind\": \"%s\", \"bytes\": %zu",
                    kind, bytes);
      w.point(fields, t);
    }
  }
  w.finish();
  return 0;
}
