#include "models/compute/precision_on_gpu.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kvsim {
namespace {

// 8 bits and narrower: the formats a GPU may lack tensor cores for.
bool narrow(DType t) { return t == DType::kFp8 || t == DType::kInt4 || is_fp4(t); }

// `f` as the GPU runs it: math it cannot do natively moves to 16 bits (weights stay as stored).
struct Changes {
  std::vector<std::string> formats;  // "FP8", "NVFP4": what the tensor cores lack
  std::vector<std::string> what;     // "fp8 weights and activations", ...
};

void add_once(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Records what changed in `changed`.
GemmFormat run_as(GemmFormat f, const GpuSpec& gpu, DType half, Changes& changed) {
  const bool math_unsupported = narrow(f.activations) && !gpu.multiplies(f.activations);
  const bool weights_unsupported = narrow(f.weights) && f.weights != DType::kInt4 &&
                                   !gpu.multiplies(f.weights);
  if (!math_unsupported && !weights_unsupported) return f;
  const std::string what = math_unsupported && f.activations == f.weights
                               ? fmt::format("{} weights and activations", to_string(f.weights))
                           : math_unsupported ? fmt::format("{} activations", to_string(f.activations))
                                              : fmt::format("{} weights", to_string(f.weights));
  add_once(changed.what, what);
  // int4 math is never run here (engines run AWQ/GPTQ as W4A16), whatever the tensor cores.
  const DType lacking = math_unsupported ? f.activations : f.weights;
  if (lacking != DType::kInt4) add_once(changed.formats, upper(to_string(lacking)));
  if (math_unsupported) f.activations = half;
  return f;
}

void resolve_group(std::optional<GemmFormat>& group, const GpuSpec& gpu, DType half,
                   Changes& changed) {
  if (group) group = run_as(*group, gpu, half, changed);
}

}  // namespace

PrecisionOnGpu precision_on_gpu(const Precision& requested, const GpuSpec& gpu,
                                DType model_dtype) {
  PrecisionOnGpu out{requested, ""};
  const DType half = model_dtype == DType::kBf16 ? DType::kBf16 : DType::kFp16;
  Changes changed;
  const GemmFormat base =
      run_as({requested.weights, requested.activations}, gpu, half, changed);
  out.precision.activations = base.activations;
  resolve_group(out.precision.attention, gpu, half, changed);
  resolve_group(out.precision.mlp, gpu, half, changed);
  resolve_group(out.precision.lm_head, gpu, half, changed);
  if (changed.what.empty()) return out;
  const std::string why =
      changed.formats.empty()
          ? "int4 is a weight-only format (AWQ/GPTQ)"
          : fmt::format("{} has no {} tensor cores", gpu.name, fmt::join(changed.formats, " or "));
  out.warning = fmt::format(
      "{}: {} priced as weight-only (W8A16 for fp8, W4A16 for 4-bit "
      "formats), as vLLM's Marlin kernels run them there (weights read in their stored format, "
      "activations and GEMM math in {} at its {:.0f} TFLOP/s)",
      why, fmt::join(changed.what, ", "),
      to_string(half), gpu.peak_flops(half) * 1e-12);
  return out;
}

}  // namespace kvsim
