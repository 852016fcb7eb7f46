#include "models/llm/dtype.hpp"

#include <array>
#include <stdexcept>
#include <utility>

namespace kvsim {
namespace {
constexpr std::array<std::pair<DType, const char*>, 8> kNames{{{DType::kFp32, "fp32"},
                                                              {DType::kFp16, "fp16"},
                                                              {DType::kBf16, "bf16"},
                                                              {DType::kFp8, "fp8"},
                                                              {DType::kInt8, "int8"},
                                                              {DType::kInt4, "int4"},
                                                              {DType::kNvfp4, "nvfp4"},
                                                              {DType::kMxfp4, "mxfp4"}}};
}

double bytes_of(DType t) {
  switch (t) {
    case DType::kFp32: return 4;
    case DType::kFp16:
    case DType::kBf16: return 2;
    case DType::kFp8:
    case DType::kInt8: return 1;
    // 4 bits + (16-bit scale + 4-bit zero) / 128 = 4.15625 bits (AWQ, GPTQ at group size 128)
    case DType::kInt4: return (4.0 + 20.0 / 128.0) / 8.0;
    case DType::kNvfp4: return (4.0 + 8.0 / 16.0) / 8.0;  // 4.5 bits
    case DType::kMxfp4: return (4.0 + 8.0 / 32.0) / 8.0;  // 4.25 bits
  }
  return 2;
}

std::string to_string(DType t) {
  for (const auto& [d, n] : kNames) {
    if (d == t) return n;
  }
  return "?";
}

DType parse_dtype(const std::string& name) {
  for (const auto& [d, n] : kNames) {
    if (name == n) return d;
  }
  throw std::invalid_argument("unknown data type '" + name + "'");
}

bool is_fp4(DType t) { return t == DType::kNvfp4 || t == DType::kMxfp4; }

GemmFormat Precision::of(GemmGroup group) const {
  const std::optional<GemmFormat>& own = group == GemmGroup::kAttention ? attention
                                         : group == GemmGroup::kMlp     ? mlp
                                                                        : lm_head;
  return own ? *own : GemmFormat{weights, activations};
}

std::vector<std::string> dtype_names() {
  std::vector<std::string> out;
  for (const auto& [d, n] : kNames) out.emplace_back(n);
  return out;
}

}  // namespace kvsim
