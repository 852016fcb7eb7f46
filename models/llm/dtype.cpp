#include "models/llm/dtype.hpp"

#include <array>
#include <stdexcept>
#include <utility>

namespace kvsim {
namespace {
constexpr std::array<std::pair<DType, const char*>, 5> kNames{{{DType::kFp32, "fp32"},
                                                              {DType::kFp16, "fp16"},
                                                              {DType::kBf16, "bf16"},
                                                              {DType::kFp8, "fp8"},
                                                              {DType::kInt8, "int8"}}};
}

double bytes_of(DType t) {
  switch (t) {
    case DType::kFp32: return 4;
    case DType::kFp16:
    case DType::kBf16: return 2;
    case DType::kFp8:
    case DType::kInt8: return 1;
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

std::vector<std::string> dtype_names() {
  std::vector<std::string> out;
  for (const auto& [d, n] : kNames) out.emplace_back(n);
  return out;
}

}  // namespace kvsim
