#pragma once
// Numeric formats of weights, activations and the KV cache.

#include <string>
#include <vector>

namespace kvsim {

enum class DType { kFp32, kFp16, kBf16, kFp8, kInt8 };

/// Bytes per element.
double bytes_of(DType t);
std::string to_string(DType t);
/// Parses "fp16", "bf16", ...; throws std::invalid_argument naming the valid ones.
DType parse_dtype(const std::string& name);
std::vector<std::string> dtype_names();

/// The three formats that matter for cost and memory.
struct Precision {
  DType weights = DType::kFp16;
  DType activations = DType::kFp16;
  DType kv_cache = DType::kFp16;
};

}  // namespace kvsim
