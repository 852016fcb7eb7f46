#include "models/compute/precision_on_gpu.hpp"

#include <fmt/format.h>

namespace kvsim {

PrecisionOnGpu precision_on_gpu(const Precision& requested, const GpuSpec& gpu,
                                DType model_dtype) {
  PrecisionOnGpu out{requested, ""};
  const bool fp8_weights = requested.weights == DType::kFp8;
  const bool fp8_math = requested.activations == DType::kFp8;
  if (gpu.fp8_flops > 0 || (!fp8_weights && !fp8_math)) return out;
  const DType half = model_dtype == DType::kBf16 ? DType::kBf16 : DType::kFp16;
  if (fp8_math) out.precision.activations = half;
  out.warning = fmt::format(
      "{} has no FP8 tensor cores: {} priced as weight-only W8A16, as vLLM runs them there "
      "(weights read in 8 bits, activations and GEMM math in {} at its {:.0f} TFLOP/s)",
      gpu.name, fp8_math ? "fp8 weights and activations" : "fp8 weights", to_string(half),
      gpu.peak_flops(half) * 1e-12);
  return out;
}

}  // namespace kvsim
