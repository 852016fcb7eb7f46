#pragma once
// What a requested precision runs as on a given GPU.
//
// A GPU without FP8 tensor cores (the spec sheet has no fp8 rate: A100, ...) cannot multiply in
// FP8. Engines run FP8 checkpoints there as weight-only W8A16 (vLLM's FP8 Marlin kernels):
// weights stored and read in 8 bits and dequantised inside the GEMM, activations and the math in
// 16 bits at the fp16/bf16 tensor-core rate. So memory-bound decode gains from the smaller
// weights and compute-bound prefill does not. An FP8 KV cache there is stored in 8 bits and
// attended in 16 bits (attention math follows the activations). Called once per scenario, after
// the GPU is known; the warning goes to Scenario::warnings.

#include <string>

#include "models/compute/gpu_spec.hpp"

namespace kvsim {

struct PrecisionOnGpu {
  Precision precision;  // what to price
  std::string warning;  // what was assumed instead of the request, or "" when nothing was
};

/// `model_dtype` picks the 16-bit format (bf16 for bf16 models, else fp16).
PrecisionOnGpu precision_on_gpu(const Precision& requested, const GpuSpec& gpu,
                                DType model_dtype);

}  // namespace kvsim
