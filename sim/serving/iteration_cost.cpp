#include "sim/serving/iteration_cost.hpp"

#include <algorithm>

namespace kvsim::serving {
namespace {

// Attention proper, plus eager attention's softmax (an elementwise kernel over the scores).
bool attention_part(const Operation& op) {
  return op.op_class == OpClass::kAttention || op.kind == OpKind::kAttnSoftmax;
}

}  // namespace

IterationCost::IterationCost(const Scenario& s, Duration host) : s_(s), host_(host) {
  options_.precision = s.precision;
  options_.attention = s.prefill ? s.prefill->attention : AttentionImpl::kFused;
}

Duration IterationCost::operator()(
    const std::vector<std::pair<std::int64_t, std::int64_t>>& prefills,
    const std::vector<std::int64_t>& decodes, std::int64_t emitting) {
  std::int64_t tokens = static_cast<std::int64_t>(decodes.size());
  for (const auto& [q, kv] : prefills) tokens += q;
  double seconds = linear(tokens);
  const double layers = static_cast<double>(s_.model.layers);
  for (const auto& [q, kv] : prefills) {
    for (const Operation& op : prefill_layer(s_.model, {q, kv, Mask::kCausal}, options_)) {
      if (attention_part(op)) seconds += s_.compute->cost(op).seconds * layers;
    }
  }
  if (!decodes.empty()) {
    for (const Operation& op : decode_layer(s_.model, decodes, options_)) {
      if (attention_part(op)) seconds += s_.compute->cost(op).seconds * layers;
    }
  }
  const auto ends = model_ends(s_.model, tokens, std::max<std::int64_t>(1, emitting), options_);
  for (std::size_t i = 1; i < ends.size(); ++i) seconds += s_.compute->cost(ends[i]).seconds;
  return from_seconds(seconds) + host_;
}

// Embedding and every per-token layer operation over `tokens` rows, memoised.
double IterationCost::linear(std::int64_t tokens) {
  if (const auto it = memo_.find(tokens); it != memo_.end()) return it->second;
  double seconds = s_.compute->cost(model_ends(s_.model, tokens, 1, options_).front()).seconds;
  for (const Operation& op : prefill_layer(s_.model, {tokens, tokens, Mask::kCausal}, options_)) {
    if (!attention_part(op)) {
      seconds += s_.compute->cost(op).seconds * static_cast<double>(s_.model.layers);
    }
  }
  return memo_.emplace(tokens, seconds).first->second;
}

}  // namespace kvsim::serving
