// reference_iteration_cost (iteration_cost.hpp): an iteration priced by decomposing the model's
// layer for its shape and pricing every operation, as IterationCost did before the compiled cost.
// Kept as the reference the compiled cost must reproduce bit for bit; used by tests and
// tools/bench/iteration_cost_bench.cpp, never by the simulation.
#include "sim/serving/iteration_cost.hpp"

#include <algorithm>

namespace kvsim::serving {
namespace {

bool attention_part(const Operation& op) { return op.stage == LayerStage::kAttention; }

std::size_t block_of(const Operation& op, bool parallel_block) {
  return parallel_block || op.kind <= OpKind::kOutProj ? 0 : 1;
}

}  // namespace

IterationCompute reference_iteration_cost(const Scenario& s, std::int64_t tensor_parallel,
                                          const IterationShape& shape,
                                          std::int64_t expert_parallel) {
  const DecomposeOptions options = s.decompose_options(tensor_parallel, expert_parallel);
  const bool parallel = s.model.parallel_attention;
  const PassKind pass = shape.prefills.empty() ? PassKind::kPureDecode : PassKind::kWithPrefill;
  auto seconds = [&](const Operation& op) { return s.engine.op_seconds(*s.compute, op, pass); };
  const std::int64_t tokens = shape.tokens();
  IterationCompute out;
  out.layer_blocks = LayerBlocks(parallel ? 1 : 2);
  out.embedding = seconds(model_ends(s.model, tokens, 1, options).front());
  for (const Operation& op : prefill_layer(s.model, {tokens, tokens, Mask::kCausal}, options)) {
    if (!attention_part(op)) out.layer_blocks[block_of(op, parallel)] += seconds(op);
  }
  const auto ends = model_ends(s.model, 1, std::max<std::int64_t>(1, shape.emitting), options);
  for (std::size_t i = 1; i < ends.size(); ++i) out.head += seconds(ends[i]);
  for (const auto& [q, kv] : shape.prefills) {
    for (const Operation& op : prefill_layer(s.model, {q, kv, Mask::kCausal}, options)) {
      if (attention_part(op)) out.layer_blocks[block_of(op, parallel)] += seconds(op);
    }
  }
  if (!shape.decodes.empty()) {
    for (const Operation& op : decode_layer(s.model, shape.decodes, options)) {
      if (attention_part(op)) out.layer_blocks[block_of(op, parallel)] += seconds(op);
    }
  }
  const auto sequences = static_cast<std::int64_t>(shape.prefills.size() + shape.decodes.size());
  out.host = s.engine.host(sequences, tokens);
  out.layer_sync = s.engine.tp_layer_sync(tensor_parallel);
  return out;
}

}  // namespace kvsim::serving
