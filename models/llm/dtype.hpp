#pragma once
// Numeric formats of weights, activations and the KV cache, and the precision a scenario runs
// at: scenario-wide formats plus optional formats of their own for groups of GEMMs (models that
// mix, e.g. fp8 MLP weights and bf16 attention projections). Read by the scenario
// (sim/scenario/precision_config.cpp), resolved for the GPU by precision_on_gpu.hpp, and used
// by the operation decomposition (operations.cpp) and the memory checks (LlmSpec::weight_bytes).

#include <optional>
#include <string>
#include <vector>

namespace kvsim {

// Sub-byte formats carry their block scales in bytes_of:
//   int4  AWQ/GPTQ weights: 4 bits, per group of 128 an fp16 scale and a 4-bit zero point
//   nvfp4 NVIDIA: e2m1 values, an fp8 (e4m3) scale per block of 16
//   mxfp4 OCP microscaling: e2m1 values, an 8-bit (e8m0) scale per block of 32
enum class DType { kFp32, kFp16, kBf16, kFp8, kInt8, kInt4, kNvfp4, kMxfp4 };

/// Bytes per element, block scales included (int4: 133/256, nvfp4: 9/16, mxfp4: 17/32).
double bytes_of(DType t);
std::string to_string(DType t);
/// Parses "fp16", "bf16", ...; throws std::invalid_argument naming the valid ones.
DType parse_dtype(const std::string& name);
std::vector<std::string> dtype_names();
/// nvfp4 or mxfp4: 4-bit floating point, multiplied natively only by FP4 tensor cores.
bool is_fp4(DType t);

/// The weight and arithmetic formats of one group of GEMMs.
struct GemmFormat {
  DType weights = DType::kFp16;
  DType activations = DType::kFp16;
};

/// Groups of operations that may run in formats of their own.
enum class GemmGroup {
  kAttention,  // QKV and output projections
  kMlp,        // the MLP's GEMMs (gate+up, down)
  kLmHead,     // embedding, LM head and the norms' weights (engines leave them unquantised)
};

/// The formats that matter for cost and memory.
struct Precision {
  DType weights = DType::kFp16;
  DType activations = DType::kFp16;  // elementwise kernels and attention; GEMMs unless a group's
  DType kv_cache = DType::kFp16;
  // Per-group formats; unset: the scenario-wide weights and activations.
  std::optional<GemmFormat> attention;
  std::optional<GemmFormat> mlp;
  std::optional<GemmFormat> lm_head;

  Precision() = default;
  Precision(DType w, DType a, DType kv) : weights(w), activations(a), kv_cache(kv) {}
  /// The formats `group` runs in.
  GemmFormat of(GemmGroup group) const;
};

}  // namespace kvsim
