// GEMMs through cuBLASLt (fp16 and bf16 in, fp32 accumulate) over the projection and MLP shapes
// of the catalog's models at TP 1, 2, 4, 8 and token counts 1 to 32k, plus a square sweep for
// peak.
#include <cublasLt.h>

#include "bench.hpp"

namespace microbench {
namespace {

// Y[m x n] = X[m x k] W^T with W[n x k], row-major as in PyTorch's Linear
// (column-major: Y^T[n x m] = W[n x k] X^T[k x m]).
class Gemm {
 public:
  explicit Gemm(const Buffers& buffers) : buffers_(buffers) {
    check(cublasLtCreate(&lt_), "cuBLASLt");
    check(cudaMalloc(&workspace_, workspace_bytes_), "workspace");
  }
  ~Gemm() {
    cudaFree(workspace_);
    cublasLtDestroy(lt_);
  }

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
    check(cublasLtMatrixLayoutCreate(&wl, type, k, n, k), "layout W");  // W^T stored k x n
    check(cublasLtMatrixLayoutCreate(&xl, type, k, m, k), "layout X");  // X^T: k x m
    check(cublasLtMatrixLayoutCreate(&yl, type, n, m, n), "layout Y");  // Y^T: n x m
    cublasLtMatmulPreference_t pref;
    check(cublasLtMatmulPreferenceCreate(&pref), "preference");
    check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                               &workspace_bytes_, sizeof workspace_bytes_),
          "workspace");
    cublasLtMatmulHeuristicResult_t heuristic;
    int found = 0;
    check(cublasLtMatmulAlgoGetHeuristic(lt_, op, wl, xl, yl, yl, pref, 1, &heuristic, &found),
          "heuristic");
    if (found == 0) {
      std::fprintf(stderr, "kvsim-microbench: no cuBLASLt algorithm for %d x %d x %d\n", m, n, k);
      std::exit(3);
    }
    const float alpha = 1.0f;
    const float beta = 0.0f;
    const Timing t = time_it([&] {
      check(cublasLtMatmul(lt_, op, &alpha, buffers_.a, wl, buffers_.b, xl, &beta, buffers_.c, yl,
                           buffers_.c, yl, &heuristic.algo, workspace_, workspace_bytes_, stream),
            "matmul");
    });
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(wl);
    cublasLtMatrixLayoutDestroy(xl);
    cublasLtMatrixLayoutDestroy(yl);
    cublasLtMatmulDescDestroy(op);
    return t;
  }

 private:
  const Buffers& buffers_;
  cublasLtHandle_t lt_;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 64u << 20;
};

}  // namespace

void bench_gemms(Writer& w, const Buffers& buffers) {
  Gemm gemm(buffers);
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
            if (static_cast<std::size_t>(m) * nk[0] > buffers.capacity ||
                static_cast<std::size_t>(m) * nk[1] > buffers.capacity) {
              continue;
            }
            w.point(format("\"op\": \"gemm\", \"dtype\": \"%s\", \"m\": %d, \"n\": %d, \"k\": %d, "
                           "\"model\": \"%s\", \"tp\": %d",
                           dtype, m, nk[0], nk[1], s.name, tp),
                    gemm.run(m, nk[0], nk[1], type));
          }
        }
      }
    }
    for (int size = 1024; size <= (options.quick ? 4096 : 16384); size *= 2) {
      w.point(format("\"op\": \"gemm\", \"dtype\": \"%s\", \"m\": %d, \"n\": %d, \"k\": %d, "
                     "\"purpose\": \"peak\"",
                     dtype, size, size, size),
              gemm.run(size, size, size, type));
    }
  }
}

}  // namespace microbench
