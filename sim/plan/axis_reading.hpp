#pragma once
// Reading a plan file's search axes: a non-empty array at a key, each element read by a
// function that fails at the element's pointer. Who calls it: plan_spec.cpp and plan_axes.cpp.
#include <cstdint>
#include <vector>

#include <fmt/format.h>

#include "sim/core/config.hpp"

namespace kvsim::plan {

/// Replaces `out` by the array at `key` of `node`, each element read by `read`; absent: kept.
template <class T, class Read>
void read_axis(const ConfigNode& node, const char* key, std::vector<T>& out, Read read) {
  const auto axis = node.find(key);
  if (!axis) return;
  if (!axis->json().is_array() || axis->size() == 0) axis->fail("must be a non-empty array");
  out.clear();
  for (const ConfigNode& e : axis->elements()) out.push_back(read(e));
}

inline std::int64_t positive_integer(const ConfigNode& e) {
  const std::int64_t v = e.as_integer();
  if (v < 1) e.fail(fmt::format("must be at least 1, got {}", v));
  return v;
}

}  // namespace kvsim::plan
