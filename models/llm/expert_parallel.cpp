#include "models/llm/expert_parallel.hpp"

#include <fmt/format.h>

namespace kvsim {

ExpertParallel ExpertParallel::of(std::int64_t degree) {
  ExpertParallel e;
  e.degree_ = degree;
  return e;
}

std::int64_t ExpertParallel::over(std::int64_t gpus) const {
  return degree_ == 0 ? 1 : degree_ == kAll ? gpus : degree_;
}

Json ExpertParallel::to_json() const { return all() ? Json(true) : Json(degree_); }

std::string ExpertParallel::label() const {
  return degree_ == 0 ? "" : all() ? "/ep" : fmt::format("/ep{}", degree_);
}

ExpertParallel read_expert_parallel(const ConfigNode& node, const std::string& key) {
  const auto child = node.find(key);
  if (!child) return {};
  if (child->json().is_boolean()) return ExpertParallel(child->as_bool());
  if (!child->json().is_number_integer() || child->as_integer() < 1) {
    child->fail("expected true (every GPU of the layout), false, or an expert-parallel degree "
                "(a count >= 1)");
  }
  return ExpertParallel::of(child->as_integer());
}

}  // namespace kvsim
