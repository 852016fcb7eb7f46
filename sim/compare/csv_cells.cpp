// The cells of a measurement CSV, checked (csv_cells.hpp).
#include "sim/compare/csv_cells.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/llm/dtype.hpp"
#include "sim/core/input_error.hpp"

namespace kvsim::compare {

std::int64_t positive_integer(const std::string& text, const std::string& file,
                              const std::string& where, const std::string& column) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || v < 1) {
    throw InputError(file, "", fmt::format("{}: {} is '{}', not a positive integer", where, column,
                                           text));
  }
  return v;
}

double positive_number(const std::string& text, const std::string& file, const std::string& where,
                       const std::string& column) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v > 0) || !std::isfinite(v)) {
    throw InputError(file, "", fmt::format("{}: {} is '{}', not a positive finite number", where,
                                           column, text));
  }
  return v;
}

std::string precision_name(const std::string& text, const std::string& file,
                           const std::string& where) {
  const std::vector<std::string> names = dtype_names();
  if (std::find(names.begin(), names.end(), text) == names.end()) {
    throw InputError(file, "", fmt::format("{}: precision is '{}'; valid values are {}", where,
                                           text, fmt::join(names, ", ")));
  }
  return text;
}

std::string catalog_gpu_name(const std::string& name) {
  static const std::map<std::string, std::string> kPublished{
      {"a100-80gb", "a100-sxm4-80gb"}, {"h100-80gb", "h100-sxm"}, {"h200-sxm", "h200"}};
  const auto it = kPublished.find(name);
  return it == kPublished.end() ? name : it->second;
}

}  // namespace kvsim::compare
