#include "sim/serving/iteration_cost.hpp"

#include <algorithm>
#include <numeric>

namespace kvsim::serving {

std::int64_t IterationShape::tokens() const {
  std::int64_t t = static_cast<std::int64_t>(decodes.size());
  for (const auto& [q, kv] : prefills) t += q;
  return t;
}

void IterationShape::clear() {
  prefills.clear();
  decodes.clear();
  emitting = 0;
}

double IterationCompute::layer() const {
  return std::accumulate(layer_blocks.begin(), layer_blocks.end(), 0.0);
}

IterationCost::IterationCost(const Scenario& s, std::int64_t tensor_parallel,
                             std::int64_t expert_parallel)
    : s_(s),
      tensor_parallel_(tensor_parallel),
      compiled_(s.model, s.decompose_options(tensor_parallel, expert_parallel), *s.compute,
                s.engine) {}

// The decomposition's order: the per-token operations of the layer (table), then each prefill's
// attention, then the decode batch's, added to their block one operation at a time.
IterationCompute IterationCost::operator()(const IterationShape& shape) {
  const PassKind pass = shape.prefills.empty() ? PassKind::kPureDecode : PassKind::kWithPrefill;
  const std::int64_t tokens = shape.tokens();
  const CompiledCost::Linear& lin = compiled_.linear(tokens, pass);
  IterationCompute out;
  out.layer_blocks = lin.blocks;
  out.embedding = lin.embedding;
  out.head = compiled_.head(std::max<std::int64_t>(1, shape.emitting), pass);
  for (const auto& [q, kv] : shape.prefills) {
    compiled_.add_prefill_attention(out.layer_blocks, q, kv, pass);
  }
  if (!shape.decodes.empty()) {
    compiled_.add_decode_attention(out.layer_blocks, shape.decodes, pass);
  }
  const auto sequences = static_cast<std::int64_t>(shape.prefills.size() + shape.decodes.size());
  out.host = s_.engine.host(sequences, tokens);
  out.layer_sync = s_.engine.tp_layer_sync(tensor_parallel_);
  return out;
}

Duration IterationCost::single_gpu(const IterationShape& shape) {
  const IterationCompute c = (*this)(shape);
  return c.host +
         from_seconds(c.embedding + c.layer() * static_cast<double>(s_.model.layers) + c.head);
}

}  // namespace kvsim::serving
