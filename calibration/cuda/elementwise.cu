// Elementwise kernels as PyTorch's fused kernels do them (RMSNorm, rotary embedding,
// SiLU-and-multiply, residual add), at Llama-2-7B's widths over the GEMM token counts.
#include <cuda_fp16.h>

#include <utility>

#include "bench.hpp"

namespace microbench {
namespace {

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

}  // namespace

void bench_elementwise(Writer& w, const Buffers& buffers) {
  const ModelShape& s = kModels[0];  // Llama-2-7B
  for (const int tokens : token_counts()) {
    const std::size_t n = static_cast<std::size_t>(tokens) * s.hidden;
    auto* x = static_cast<__half*>(buffers.a);
    auto* y = static_cast<__half*>(buffers.b);
    auto* z = static_cast<__half*>(buffers.c);
    const int rotated_heads = s.heads + s.kv_heads;  // queries and keys
    const std::pair<const char*, std::function<void()>> kernels[] = {
        {"input_norm", [&] { rms_norm<<<tokens, 256, 0, stream>>>(x, y, z, s.hidden, 1e-5f); }},
        {"rotary",
         [&] {
           const std::size_t pairs =
               static_cast<std::size_t>(tokens) * rotated_heads * s.head_dim / 2;
           rotary<<<blocks_for(pairs, 256), 256, 0, stream>>>(x, tokens, rotated_heads,
                                                               s.head_dim);
         }},
        {"mlp_act",
         [&] {
           silu_and_mul<<<blocks_for(static_cast<std::size_t>(tokens) * s.intermediate, 256), 256,
                          0, stream>>>(x, z, tokens, s.intermediate);
         }},
        {"residual_add",
         [&] { residual_add<<<blocks_for(n, 256), 256, 0, stream>>>(x, y, z, n); }}};
    for (const auto& [kind, launch] : kernels) {
      w.point(format("\"op\": \"elementwise\", \"kind\": \"%s\", \"tokens\": %d, \"width\": %d, "
                     "\"model\": \"%s\"",
                     kind, tokens, s.hidden, s.name),
              time_it(launch));
    }
  }
}

}  // namespace microbench
