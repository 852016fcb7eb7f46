#pragma once
// What a requested precision runs as on a given GPU.
//
// A GPU whose tensor cores cannot multiply a format runs it as engines do there: weight-only.
// FP8 without FP8 tensor cores (A100, ...) is W8A16 (vLLM's FP8 Marlin kernels); nvfp4 or mxfp4
// without FP4 tensor cores for that format (Hopper, A100, an nvfp4 checkpoint on an MI355X) is
// W4A16 (vLLM's FP4 Marlin kernels): weights stored and read in the narrow format and
// dequantised inside the GEMM, activations and the math in 16 bits at the fp16/bf16 rate. So
// memory-bound decode gains from the smaller weights and compute-bound prefill does not. int4
// (AWQ/GPTQ) is always weight-only (W4A16, Marlin-style): no GPU multiplies int4 activations
// here. An FP8 KV cache there is stored in 8 bits and attended in 16 bits (attention math
// follows the activations). Each group of GEMMs with formats of its own (Precision::attention,
// mlp, lm_head) is resolved the same way. Called once per scenario, after the GPU is known, and
// by kvsim cost; the warning goes to Scenario::warnings.

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
