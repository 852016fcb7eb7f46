#include "sim/serving/speculative/pass_cost.hpp"

#include <algorithm>
#include <vector>

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

// Whether the verify chunks batch as one full-attention kernel (batched_verify): no latent
// attention, no windows.
bool plain_attention(const LlmSpec& model) {
  return !model.mla.on() && model.windowed_layers() == 0;
}

// The verify chunks through the model's decode attention, one query per verify token (each
// sequence's positions kv - q + 1 .. kv): query-key pairs, queries and MLA's absorbed GEMMs as
// the decode kernel counts them per query, each kind of layer with its window and share; then
// each kernel's keys set to those the sequences' queries see (kv, or q + window - 1 under a
// window), read once per sequence rather than once per query. One query per sequence (k = 0) is
// the decode kernel unchanged.
AttentionOps verify_attention(const LlmSpec& model, std::span<const Chunk> verifies,
                              const DecomposeOptions& o) {
  std::vector<std::int64_t> positions;
  for (const auto& [q, kv] : verifies) {
    for (std::int64_t at = kv - q + 1; at <= kv; ++at) positions.push_back(at);
  }
  AttentionOps ops = decode_attention(model, positions, o);
  const double act = bytes_of(o.precision.activations);
  for (std::size_t i = 0; i < ops.count; ++i) {
    Operation& op = ops.ops[i];
    if (op.op_class != OpClass::kAttention) continue;  // MLA's GEMMs: a row per query already
    AttentionShape& a = op.attention;
    std::int64_t keys = 0;
    for (const auto& [q, kv] : verifies) {
      keys += a.window > 0 ? std::min(kv, q + a.window - 1) : kv;
    }
    if (keys == a.kv_tokens) continue;
    // Q is read per query (heads x head_dim: the latent width under MLA), K and V per key.
    const double q_bytes = static_cast<double>(a.q_tokens * a.heads * a.head_dim) * act;
    const double per_key = (op.bytes_read - q_bytes) / static_cast<double>(a.kv_tokens);
    op.bytes_read = q_bytes + per_key * static_cast<double>(keys);
    a.kv_tokens = keys;
    a.batch = static_cast<std::int64_t>(verifies.size());
  }
  return ops;
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
  if (fused && !verifies.empty() && plain_attention(model)) {
    add(batched_verify(model, verifies, o));
  } else if (fused && !verifies.empty()) {
    for (const Operation& op : verify_attention(model, verifies, o)) add(op);
  }
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
                            double extra_block, std::span<const Chunk> verifies,
                            std::int64_t expert_parallel) {
  // The scenario's precision, attention kind and expert load (a dense draft has no experts).
  const DecomposeOptions options =
      s.decompose_options(tensor_parallel, model.moe.enabled() ? expert_parallel : 1);
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
