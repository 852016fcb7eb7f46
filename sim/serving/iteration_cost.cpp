#include "sim/serving/iteration_cost.hpp"

#include <algorithm>
#include <numeric>

namespace kvsim::serving {
namespace {

// The attention stage, priced per sequence: attention proper, eager attention's softmax (an
// elementwise kernel over the scores) and latent attention's per-sequence GEMMs (prefill's
// decompression of every key, decode's absorbed projections).
bool attention_part(const Operation& op) { return op.stage == LayerStage::kAttention; }

// Block 0 runs up to the attention's output projection (then the first all-reduce), block 1
// the MLP.
std::size_t block_of(const Operation& op, bool parallel_block) {
  return parallel_block || op.kind <= OpKind::kOutProj ? 0 : 1;
}

// Memo keys: a count, and whether the pass is pure decode (a CUDA graph may drop its launches).
std::int64_t memo_key(std::int64_t count, PassKind pass) {
  return count * 2 + (pass == PassKind::kPureDecode ? 1 : 0);
}

}  // namespace

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

IterationCost::IterationCost(const Scenario& s, std::int64_t tensor_parallel)
    : s_(s), parallel_block_(s.model.parallel_attention), tensor_parallel_(tensor_parallel) {
  options_.precision = s.precision;
  options_.attention = s.prefill ? s.prefill->attention : AttentionImpl::kFused;
  options_.tensor_parallel = tensor_parallel;
}

IterationCompute IterationCost::operator()(const IterationShape& shape) {
  const PassKind pass = shape.prefills.empty() ? PassKind::kPureDecode : PassKind::kWithPrefill;
  const Linear& lin = linear(shape.tokens(), pass);
  IterationCompute out;
  out.layer_blocks = lin.blocks;
  out.embedding = lin.embedding;
  out.head = head(std::max<std::int64_t>(1, shape.emitting), pass);
  for (const auto& [q, kv] : shape.prefills) {
    for (const Operation& op : prefill_layer(s_.model, {q, kv, Mask::kCausal}, options_)) {
      if (attention_part(op)) out.layer_blocks[block_of(op, parallel_block_)] += seconds(op, pass);
    }
  }
  if (!shape.decodes.empty()) {
    for (const Operation& op : decode_layer(s_.model, shape.decodes, options_)) {
      if (attention_part(op)) out.layer_blocks[block_of(op, parallel_block_)] += seconds(op, pass);
    }
  }
  const auto sequences = static_cast<std::int64_t>(shape.prefills.size() + shape.decodes.size());
  out.host = s_.engine.host(sequences, shape.tokens());
  out.layer_sync = s_.engine.tp_layer_sync(tensor_parallel_);
  return out;
}

Duration IterationCost::single_gpu(const IterationShape& shape) {
  const IterationCompute c = (*this)(shape);
  return c.host +
         from_seconds(c.embedding + c.layer() * static_cast<double>(s_.model.layers) + c.head);
}

double IterationCost::seconds(const Operation& op, PassKind pass) const {
  return s_.engine.op_seconds(*s_.compute, op, pass);
}

// Every per-token operation of a layer over `tokens` rows, and the embedding, memoised.
const IterationCost::Linear& IterationCost::linear(std::int64_t tokens, PassKind pass) {
  const std::int64_t key = memo_key(tokens, pass);
  if (const auto it = linear_memo_.find(key); it != linear_memo_.end()) return it->second;
  Linear lin;
  lin.blocks.assign(parallel_block_ ? 1 : 2, 0.0);
  lin.embedding = seconds(model_ends(s_.model, tokens, 1, options_).front(), pass);
  for (const Operation& op : prefill_layer(s_.model, {tokens, tokens, Mask::kCausal}, options_)) {
    if (!attention_part(op)) lin.blocks[block_of(op, parallel_block_)] += seconds(op, pass);
  }
  return linear_memo_.emplace(key, std::move(lin)).first->second;
}

// Final norm, LM head and sampling over the emitting rows, memoised.
double IterationCost::head(std::int64_t emitting, PassKind pass) {
  const std::int64_t key = memo_key(emitting, pass);
  if (const auto it = head_memo_.find(key); it != head_memo_.end()) return it->second;
  const auto ends = model_ends(s_.model, 1, emitting, options_);
  double total = 0;
  for (std::size_t i = 1; i < ends.size(); ++i) total += seconds(ends[i], pass);
  return head_memo_.emplace(key, total).first->second;
}

}  // namespace kvsim::serving
