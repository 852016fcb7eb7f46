// Attention: eager prefill attention as HuggingFace runs it (batched QK^T, a softmax kernel,
// batched PV), and decode attention over a paged KV cache with our own split-KV kernel
// (flash-decoding: each block reads one slice of one sequence's KV for one KV head and all the
// query heads sharing it; a second kernel merges the slices). Fused prefill attention is measured
// through PyTorch's SDPA backends by attention_bench.py.
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>

#include "bench.hpp"

namespace microbench {
namespace {

// ---- eager prefill attention

// One block per score row: mask, max, exp and normalise in fp32 (bottom-right causal: query i of
// q sees the kv - q earlier tokens and itself).
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

// ---- decode attention over a paged KV cache

constexpr int kBlockTokens = 16;  // tokens per KV-cache block (vLLM's default)
constexpr int kPartition = 512;   // KV tokens per split
constexpr int kWarps = 4;
constexpr int kMaxGroup = 8;      // query heads per KV head

struct DecodeProblem {
  int batch = 0, heads = 0, kv_heads = 0, head_dim = 0;
  int max_blocks = 0;  // block-table entries per sequence
  int splits = 0;
  int chunks = 0;      // blocks per KV head: query heads sharing it, kMaxGroup at a time
  float scale = 0;
  const __half* q = nullptr;        // [batch, heads, head_dim]
  const __half* k_cache = nullptr;  // [blocks, kBlockTokens, kv_heads, head_dim]
  const __half* v_cache = nullptr;
  const int* block_table = nullptr;  // [batch, max_blocks]
  const int* lengths = nullptr;      // [batch]
  float* part_m = nullptr;           // [batch, heads, splits]: running max of the scores
  float* part_l = nullptr;           // ... sum of exp(score - max)
  float* part_acc = nullptr;         // [batch, heads, splits, head_dim]: sum of exp(...) v
  __half* out = nullptr;             // [batch, heads, head_dim]
};

__device__ void unpack(const uint4& raw, float (&x)[8]) {
  const __half2* h = reinterpret_cast<const __half2*>(&raw);
  for (int i = 0; i < 4; ++i) {
    const float2 f = __half22float2(h[i]);
    x[2 * i] = f.x;
    x[2 * i + 1] = f.y;
  }
}

// Grid (batch, kv_heads x chunks, splits). Each lane holds 8 elements of a head (one 16-byte load), so a
// warp reads 32 / (head_dim / 8) tokens per step; every token group keeps an online softmax, and
// the block merges its groups' states through shared memory at the end.
template <int kHeadDim>
__global__ void __launch_bounds__(kWarps * 32) decode_split(DecodeProblem p) {
  constexpr int kLanesPerToken = kHeadDim / 8;
  constexpr int kTokensPerStep = 32 / kLanesPerToken;
  constexpr int kStates = kWarps * kTokensPerStep;
  __shared__ float state_m[kStates][kMaxGroup];
  __shared__ float state_l[kStates][kMaxGroup];
  __shared__ float state_acc[kStates][kMaxGroup][kHeadDim];

  const int b = blockIdx.x;
  const int kv_head = blockIdx.y / p.chunks;
  const int chunk = blockIdx.y % p.chunks;
  const int split = blockIdx.z;
  const int first_head = kv_head * (p.heads / p.kv_heads) + chunk * kMaxGroup;
  const int group = min(kMaxGroup, p.heads / p.kv_heads - chunk * kMaxGroup);
  const int begin = split * kPartition;
  const int end = min(p.lengths[b], begin + kPartition);
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int sub = lane / kLanesPerToken;    // which of the step's tokens
  const int slice = lane % kLanesPerToken;  // which 8 elements of the head

  float q[kMaxGroup][8];
  float m[kMaxGroup];
  float l[kMaxGroup];
  float acc[kMaxGroup][8];
  for (int g = 0; g < kMaxGroup; ++g) {
    m[g] = -INFINITY;
    l[g] = 0;
    for (int i = 0; i < 8; ++i) acc[g][i] = q[g][i] = 0;
    if (g < group) {
      const std::size_t head = static_cast<std::size_t>(b) * p.heads + first_head + g;
      unpack(*reinterpret_cast<const uint4*>(p.q + head * kHeadDim + slice * 8), q[g]);
      for (int i = 0; i < 8; ++i) q[g][i] *= p.scale;
    }
  }
  // The loop bound depends on the warp only, so every lane takes part in the shuffles.
  for (int t0 = begin + warp * kTokensPerStep; t0 < end; t0 += kWarps * kTokensPerStep) {
    const int t = t0 + sub;
    const bool valid = t < end;
    float k[8] = {};
    float v[8] = {};
    if (valid) {
      const int block = p.block_table[static_cast<std::size_t>(b) * p.max_blocks + t / kBlockTokens];
      const std::size_t row =
          (static_cast<std::size_t>(block) * kBlockTokens + t % kBlockTokens) * p.kv_heads +
          kv_head;
      unpack(*reinterpret_cast<const uint4*>(p.k_cache + row * kHeadDim + slice * 8), k);
      unpack(*reinterpret_cast<const uint4*>(p.v_cache + row * kHeadDim + slice * 8), v);
    }
    for (int g = 0; g < kMaxGroup; ++g) {
      if (g >= group) break;
      float s = 0;
      for (int i = 0; i < 8; ++i) s += q[g][i] * k[i];
      for (int o = kLanesPerToken / 2; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
      if (valid) {
        const float m_new = fmaxf(m[g], s);
        const float correction = __expf(m[g] - m_new);
        const float e = __expf(s - m_new);
        l[g] = l[g] * correction + e;
        for (int i = 0; i < 8; ++i) acc[g][i] = acc[g][i] * correction + e * v[i];
        m[g] = m_new;
      }
    }
  }
  const int state = warp * kTokensPerStep + sub;
  for (int g = 0; g < kMaxGroup && g < group; ++g) {
    if (slice == 0) {
      state_m[state][g] = m[g];
      state_l[state][g] = l[g];
    }
    for (int i = 0; i < 8; ++i) state_acc[state][g][slice * 8 + i] = acc[g][i];
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < group * kHeadDim; idx += blockDim.x) {
    const int g = idx / kHeadDim;
    const int d = idx % kHeadDim;
    float big = -INFINITY;
    for (int s = 0; s < kStates; ++s) big = fmaxf(big, state_m[s][g]);
    float total = 0;
    float weighted = 0;
    if (big > -INFINITY) {
      for (int s = 0; s < kStates; ++s) {
        const float w = __expf(state_m[s][g] - big);
        total += state_l[s][g] * w;
        weighted += state_acc[s][g][d] * w;
      }
    }
    const std::size_t part =
        (static_cast<std::size_t>(b) * p.heads + first_head + g) * p.splits + split;
    p.part_acc[part * kHeadDim + d] = weighted;
    if (d == 0) {
      p.part_m[part] = big;
      p.part_l[part] = total;
    }
  }
}

// Grid batch x heads, head_dim threads: merges the splits of one head.
__global__ void decode_merge(DecodeProblem p) {
  const std::size_t head = blockIdx.x;
  const int d = threadIdx.x;
  float big = -INFINITY;
  for (int s = 0; s < p.splits; ++s) big = fmaxf(big, p.part_m[head * p.splits + s]);
  float total = 0;
  float weighted = 0;
  for (int s = 0; s < p.splits; ++s) {
    const std::size_t part = head * p.splits + s;
    if (p.part_l[part] <= 0) continue;
    const float w = __expf(p.part_m[part] - big);
    total += p.part_l[part] * w;
    weighted += p.part_acc[part * p.head_dim + d] * w;
  }
  p.out[head * p.head_dim + d] = __float2half(total > 0 ? weighted / total : 0.0f);
}

bool launch_decode(const DecodeProblem& p) {
  const dim3 grid(p.batch, p.kv_heads * p.chunks, p.splits);
  if (p.heads % p.kv_heads != 0) return false;
  if (p.head_dim == 128) {
    decode_split<128><<<grid, kWarps * 32, 0, stream>>>(p);
  } else if (p.head_dim == 64) {
    decode_split<64><<<grid, kWarps * 32, 0, stream>>>(p);
  } else {
    return false;
  }
  decode_merge<<<p.batch * p.heads, p.head_dim, 0, stream>>>(p);
  return true;
}

// A decode problem in device memory: random values, blocks scattered over the cache in a random
// order (as a paged allocator leaves them after a while).
class DecodeCase {
 public:
  DecodeCase(int heads, int kv_heads, int head_dim, const std::vector<int>& lengths,
             std::uint32_t seed)
      : lengths_(lengths) {
    p_.batch = static_cast<int>(lengths.size());
    p_.heads = heads;
    p_.kv_heads = kv_heads;
    p_.head_dim = head_dim;
    p_.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    int longest = 1;
    for (const int n : lengths) longest = std::max(longest, n);
    p_.max_blocks = (longest + kBlockTokens - 1) / kBlockTokens;
    p_.splits = (longest + kPartition - 1) / kPartition;
    p_.chunks = (heads / kv_heads + kMaxGroup - 1) / kMaxGroup;
    blocks_ = p_.batch * p_.max_blocks;
    std::mt19937 rng(seed);
    std::vector<int> table(static_cast<std::size_t>(blocks_));
    for (int i = 0; i < blocks_; ++i) table[i] = i;
    std::shuffle(table.begin(), table.end(), rng);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    auto random_halves = [&](std::size_t n) {
      std::vector<__half> h(n);
      for (auto& x : h) x = __float2half(uniform(rng));
      return h;
    };
    const std::size_t heads_n = static_cast<std::size_t>(p_.batch) * heads * head_dim;
    const std::size_t cache_n =
        static_cast<std::size_t>(blocks_) * kBlockTokens * kv_heads * head_dim;
    q_ = random_halves(heads_n);
    // The cache is large; only the check needs its values on the host.
    const bool keep = cache_n <= (std::size_t{1} << 24);
    if (keep) {
      k_ = random_halves(cache_n);
      v_ = random_halves(cache_n);
    }
    table_ = table;
    upload(&q_dev_, q_);
    check(cudaMalloc(&k_dev_, cache_n * 2), "K cache");
    check(cudaMalloc(&v_dev_, cache_n * 2), "V cache");
    if (keep) {
      check(cudaMemcpy(k_dev_, k_.data(), cache_n * 2, cudaMemcpyHostToDevice), "K");
      check(cudaMemcpy(v_dev_, v_.data(), cache_n * 2, cudaMemcpyHostToDevice), "V");
    } else {
      check(cudaMemset(k_dev_, 0, cache_n * 2), "K");
      check(cudaMemset(v_dev_, 0, cache_n * 2), "V");
    }
    upload(&table_dev_, table_);
    upload(&lengths_dev_, lengths_);
    const std::size_t parts = static_cast<std::size_t>(p_.batch) * heads * p_.splits;
    check(cudaMalloc(&p_.part_m, parts * 4), "partials");
    check(cudaMalloc(&p_.part_l, parts * 4), "partials");
    check(cudaMalloc(&p_.part_acc, parts * head_dim * 4), "partials");
    check(cudaMalloc(&p_.out, heads_n * 2), "output");
    p_.q = static_cast<const __half*>(q_dev_);
    p_.k_cache = static_cast<const __half*>(k_dev_);
    p_.v_cache = static_cast<const __half*>(v_dev_);
    p_.block_table = static_cast<const int*>(table_dev_);
    p_.lengths = static_cast<const int*>(lengths_dev_);
  }
  ~DecodeCase() {
    for (void* ptr : {q_dev_, k_dev_, v_dev_, table_dev_, lengths_dev_,
                      static_cast<void*>(p_.part_m), static_cast<void*>(p_.part_l),
                      static_cast<void*>(p_.part_acc), static_cast<void*>(p_.out)}) {
      cudaFree(ptr);
    }
  }
  DecodeCase(const DecodeCase&) = delete;
  DecodeCase& operator=(const DecodeCase&) = delete;

  const DecodeProblem& problem() const { return p_; }

  /// Largest absolute difference between the kernel's output and a float reference.
  double max_error() const {
    const std::size_t n = static_cast<std::size_t>(p_.batch) * p_.heads * p_.head_dim;
    std::vector<__half> got(n);
    check(cudaMemcpy(got.data(), p_.out, n * 2, cudaMemcpyDeviceToHost), "output");
    const int group = p_.heads / p_.kv_heads;
    double worst = 0;
    for (int b = 0; b < p_.batch; ++b) {
      for (int h = 0; h < p_.heads; ++h) {
        const int kv_head = h / group;
        const __half* q = &q_[(static_cast<std::size_t>(b) * p_.heads + h) * p_.head_dim];
        auto row = [&](int t) {
          const int block = table_[static_cast<std::size_t>(b) * p_.max_blocks + t / kBlockTokens];
          return ((static_cast<std::size_t>(block) * kBlockTokens + t % kBlockTokens) *
                      p_.kv_heads + kv_head) * p_.head_dim;
        };
        std::vector<double> scores(static_cast<std::size_t>(lengths_[b]));
        double big = -1e300;
        for (int t = 0; t < lengths_[b]; ++t) {
          double s = 0;
          for (int d = 0; d < p_.head_dim; ++d) {
            s += static_cast<double>(__half2float(q[d])) * __half2float(k_[row(t) + d]);
          }
          scores[t] = s * p_.scale;
          big = std::max(big, scores[t]);
        }
        double total = 0;
        for (double& s : scores) total += (s = std::exp(s - big));
        for (int d = 0; d < p_.head_dim; ++d) {
          double want = 0;
          for (int t = 0; t < lengths_[b]; ++t) want += scores[t] * __half2float(v_[row(t) + d]);
          want /= total;
          const double have =
              __half2float(got[(static_cast<std::size_t>(b) * p_.heads + h) * p_.head_dim + d]);
          worst = std::max(worst, std::abs(have - want));
        }
      }
    }
    return worst;
  }

 private:
  template <typename T>
  static void upload(void** dev, const std::vector<T>& host) {
    check(cudaMalloc(dev, host.size() * sizeof(T)), "upload");
    check(cudaMemcpy(*dev, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
          "upload");
  }

  DecodeProblem p_;
  std::vector<int> lengths_;
  std::vector<int> table_;
  int blocks_ = 0;
  std::vector<__half> q_, k_, v_;
  void* q_dev_ = nullptr;
  void* k_dev_ = nullptr;
  void* v_dev_ = nullptr;
  void* table_dev_ = nullptr;
  void* lengths_dev_ = nullptr;
};

}  // namespace

void bench_eager_attention(Writer& w, const Buffers& buffers) {
  cublasHandle_t blas;
  check(cublasCreate(&blas), "cuBLAS");
  check(cublasSetStream(blas, stream), "cuBLAS stream");
  const ModelShape& shape = kModels[0];  // Llama-2-7B at TP 1: 32 heads of 128
  const int heads = shape.heads;
  const int dim = shape.head_dim;
  const std::vector<int> qs = options.quick ? std::vector<int>{512, 2048}
                                            : std::vector<int>{128, 512, 1024, 2048, 4096, 8192};
  for (const int q : qs) {
    for (const int kv_extra : {0, 1024, 4096}) {
      const int kv = q + kv_extra;
      if (static_cast<std::size_t>(heads) * q * kv > buffers.capacity) continue;
      const float one = 1.0f;
      const float zero = 0.0f;
      auto scores = [&] {
        check(cublasGemmStridedBatchedEx(
                  blas, CUBLAS_OP_T, CUBLAS_OP_N, kv, q, dim, &one, buffers.a, CUDA_R_16F, dim,
                  static_cast<long long>(kv) * dim, buffers.b, CUDA_R_16F, dim,
                  static_cast<long long>(q) * dim, &zero, buffers.c, CUDA_R_16F, kv,
                  static_cast<long long>(q) * kv, heads, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
              "scores");
      };
      auto softmax = [&] {
        causal_softmax<<<static_cast<unsigned>(heads) * q, 256, 0, stream>>>(
            static_cast<__half*>(buffers.c), q, kv, 1.0f / std::sqrt(static_cast<float>(dim)));
      };
      auto values = [&] {
        check(cublasGemmStridedBatchedEx(
                  blas, CUBLAS_OP_N, CUBLAS_OP_N, dim, q, kv, &one, buffers.a, CUDA_R_16F, dim,
                  static_cast<long long>(kv) * dim, buffers.c, CUDA_R_16F, kv,
                  static_cast<long long>(q) * kv, &zero, buffers.b, CUDA_R_16F, dim,
                  static_cast<long long>(q) * dim, heads, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
              "values");
      };
      const std::pair<const char*, std::function<void()>> parts[] = {
          {"scores", scores}, {"softmax", softmax}, {"values", values}};
      for (const auto& [part, launch] : parts) {
        w.point(format("\"op\": \"attention\", \"variant\": \"eager\", \"part\": \"%s\", "
                       "\"q\": %d, \"kv\": %d, \"heads\": %d, \"kv_heads\": %d, \"head_dim\": %d",
                       part, q, kv, heads, heads, dim),
                time_it(launch));
      }
    }
  }
  cublasDestroy(blas);
}

bool check_decode_attention() {
  struct Case {
    int heads, kv_heads, head_dim;
    std::vector<int> lengths;
  };
  // Ragged lengths cross the block and split boundaries; both head sizes and GQA are covered.
  const Case cases[] = {{8, 2, 128, {1, 17, 700, 1500}},
                        {4, 4, 128, {513, 64}},
                        {8, 1, 64, {31, 1024, 1100}},
                        {71, 1, 64, {300, 9}}};  // Falcon-7B: query heads in chunks of 8
  bool ok = true;
  std::uint32_t seed = 1;
  for (const Case& c : cases) {
    DecodeCase d(c.heads, c.kv_heads, c.head_dim, c.lengths, seed++);
    launch_decode(d.problem());
    check(cudaStreamSynchronize(stream), "decode attention");
    const double error = d.max_error();
    const bool good = error < 2e-2;
    std::fprintf(stderr, "kvsim-microbench: check decode attention %d heads / %d KV heads of %d: "
                 "max error %.2e %s\n", c.heads, c.kv_heads, c.head_dim, error,
                 good ? "ok" : "FAILED");
    ok = ok && good;
  }
  return ok;
}

void bench_decode_attention(Writer& w) {
  if (!check_decode_attention()) {
    std::fprintf(stderr, "kvsim-microbench: decode attention is wrong; its points are skipped\n");
    return;
  }
  struct Shape {
    const char* model;
    int heads, kv_heads, head_dim;
  };
  // Per-GPU shapes: Llama-2-7B (MHA), Llama-3-8B (GQA 4), Llama-3-70B at TP 8, Falcon-7B (MQA).
  const Shape shapes[] = {{"llama-2-7b", 32, 32, 128},
                          {"llama-3-8b", 32, 8, 128},
                          {"llama-3-70b", 8, 1, 128},
                          {"falcon-7b", 71, 1, 64}};
  const std::vector<int> batches = options.quick ? std::vector<int>{1, 32}
                                                 : std::vector<int>{1, 4, 16, 64, 256};
  const std::vector<int> lengths = options.quick ? std::vector<int>{1024, 8192}
                                                 : std::vector<int>{128, 512, 2048, 8192, 32768};
  const std::size_t budget = std::size_t{16} << 30;  // bytes of K and V together
  for (const Shape& s : shapes) {
    for (const int batch : batches) {
      for (const int kv : lengths) {
        const std::size_t bytes = static_cast<std::size_t>(batch) * kv * s.kv_heads * s.head_dim * 4;
        if (bytes > budget) continue;
        DecodeCase d(s.heads, s.kv_heads, s.head_dim, std::vector<int>(batch, kv), 7);
        const Timing t = time_it([&] { launch_decode(d.problem()); });
        w.point(format("\"op\": \"decode_attention\", \"variant\": \"fused\", \"kernel\": "
                       "\"kvsim-paged-split-kv\", \"block_size\": %d, \"batch\": %d, \"kv\": %d, "
                       "\"heads\": %d, \"kv_heads\": %d, \"head_dim\": %d, \"model\": \"%s\"",
                       kBlockTokens, batch, kv, s.heads, s.kv_heads, s.head_dim, s.model),
                t);
      }
    }
  }
}

}  // namespace microbench
