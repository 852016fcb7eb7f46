#include "sim/serving/speculative/pass_cost.hpp"

#include <algorithm>

#include "sim/serving/stage_time.hpp"

namespace kvsim::serving::speculative {
namespace {

// As iteration_cost.cpp splits a layer: attention proper (and eager softmax) per sequence;
// block 0 up to the output projection, block 1 the MLP (one block for parallel attention).
bool attention_part(const Operation& op) { return op.stage == LayerStage::kAttention; }
std::size_t block_of(const Operation& op, bool parallel_block) {
  return parallel_block || op.kind <= OpKind::kOutProj ? 0 : 1;
}

// The verify chunks as one fused kernel: the first chunk's kernel scaled to the batch, FLOPs by
// the summed causal pairs, Q and O bytes by the summed queries, K and V bytes by the summed
// KV lengths (each sequence's cache read once).
Operation batched_verify(const LlmSpec& model, std::span<const Chunk> verifies,
                         const DecomposeOptions& o) {
  const auto [q0, kv0] = verifies.front();
  Operation op{};
  for (const Operation& one : prefill_layer(model, {q0, kv0, Mask::kCausal}, o)) {
    if (one.kind == OpKind::kAttention) op = one;
  }
  AttentionShape a = op.attention;
  const double q_bytes = op.bytes_written / static_cast<double>(a.q_tokens);
  const double kv_bytes = (op.bytes_read - op.bytes_written) / static_cast<double>(a.kv_tokens);
  const double flops_per_pair = op.flops / static_cast<double>(a.pairs);
  a.batch = static_cast<std::int64_t>(verifies.size());
  a.q_tokens = a.kv_tokens = a.pairs = a.longest_kv = 0;
  for (const auto& [q, kv] : verifies) {
    a.q_tokens += q;
    a.kv_tokens += kv;
    a.pairs += causal_pairs(q, kv);
    a.longest_kv = std::max(a.longest_kv, kv);
  }
  op.attention = a;
  op.flops = flops_per_pair * static_cast<double>(a.pairs);
  op.bytes_written = q_bytes * static_cast<double>(a.q_tokens);
  op.bytes_read = op.bytes_written + kv_bytes * static_cast<double>(a.kv_tokens);
  return op;
}

// Attention of every sequence of the pass, added to its blocks.
void add_attention(IterationCompute& out, const LlmSpec& model, const IterationShape& shape,
                   std::span<const Chunk> verifies, const DecomposeOptions& o,
                   const auto& seconds) {
  const bool parallel = model.parallel_attention;
  const auto add = [&](const Operation& op) {
    if (attention_part(op)) out.layer_blocks[block_of(op, parallel)] += seconds(op);
  };
  const bool fused = o.attention == AttentionImpl::kFused;
  for (const Chunk& chunk : shape.prefills) {
    for (const Operation& op : prefill_layer(model, {chunk.first, chunk.second}, o)) add(op);
  }
  if (fused && !verifies.empty()) add(batched_verify(model, verifies, o));
  for (const Chunk& chunk : fused ? std::span<const Chunk>{} : verifies) {
    for (const Operation& op : prefill_layer(model, {chunk.first, chunk.second}, o)) add(op);
  }
  if (!shape.decodes.empty()) {
    for (const Operation& op : decode_layer(model, shape.decodes, o)) add(op);
  }
}

}  // namespace

std::int64_t pass_rows(const IterationShape& shape, std::span<const Chunk> verifies) {
  std::int64_t rows = shape.tokens();
  for (const Chunk& chunk : verifies) rows += chunk.first;
  return rows;
}

IterationCompute price_pass(const Scenario& s, const LlmSpec& model,
                            std::int64_t tensor_parallel, const IterationShape& shape,
                            double extra_block, std::span<const Chunk> verifies) {
  DecomposeOptions options;
  options.precision = s.precision;
  options.attention = s.prefill ? s.prefill->attention : AttentionImpl::kFused;
  options.tensor_parallel = tensor_parallel;
  const PassKind pass = shape.prefills.empty() && verifies.empty() ? PassKind::kPureDecode
                                                                   : PassKind::kWithPrefill;
  const auto seconds = [&](const Operation& op) {
    return s.engine.op_seconds(*s.compute, op, pass);
  };
  const std::int64_t rows = pass_rows(shape, verifies);
  IterationCompute out;
  out.layer_blocks = LayerBlocks(model.parallel_attention ? 1 : 2);
  out.layer_blocks[0] += extra_block;
  for (const Operation& op : prefill_layer(model, {rows, rows, Mask::kCausal}, options)) {
    if (!attention_part(op)) out.layer_blocks[block_of(op, model.parallel_attention)] += seconds(op);
  }
  add_attention(out, model, shape, verifies, options, seconds);
  const auto ends = model_ends(model, rows, std::max<std::int64_t>(1, shape.emitting), options);
  out.embedding = seconds(ends.front());
  for (std::size_t i = 1; i < ends.size(); ++i) out.head += seconds(ends[i]);
  const auto sequences =
      static_cast<std::int64_t>(shape.prefills.size() + shape.decodes.size() + verifies.size());
  out.host = s.engine.host(sequences, rows);
  out.layer_sync = s.engine.tp_layer_sync(tensor_parallel);
  return out;
}

Duration pass_time(const IterationCompute& c, int layers, bool embedding,
                   const std::vector<int>& gpus, std::int64_t rows, Communication& comm) {
  return stage_time(c, StageSpan{layers, embedding, true}, gpus, rows, comm);
}

}  // namespace kvsim::serving::speculative
