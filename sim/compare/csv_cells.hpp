#pragma once
// Internal to sim/compare: the cells of a measurement CSV, checked one at a time, and the GPU
// names the published tables use. Each check throws InputError naming the file, the line
// ("line 5") and the column, and says what would be valid.

#include <cstdint>
#include <string>

namespace kvsim::compare {

std::int64_t positive_integer(const std::string& text, const std::string& file,
                              const std::string& where, const std::string& column);

double positive_number(const std::string& text, const std::string& file, const std::string& where,
                       const std::string& column);

/// The precision column ("fp16", "bf16", "fp8", ...): one of kvsim's data types.
std::string precision_name(const std::string& text, const std::string& file,
                           const std::string& where);

/// The catalog's name for a GPU as the published tables name it: Splitwise's a100-80gb
/// (a100-sxm4-80gb) and h100-80gb (h100-sxm, DGX-H100), TensorRT-LLM's h200-sxm (h200); any
/// other name unchanged.
std::string catalog_gpu_name(const std::string& name);

}  // namespace kvsim::compare
