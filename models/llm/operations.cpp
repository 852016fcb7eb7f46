#include "models/llm/operations.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "models/llm/limits.hpp"
#include "models/llm/moe_operations.hpp"
#include "sim/core/input_error.hpp"

namespace kvsim {
namespace {

// Per-GPU widths after tensor-parallel sharding (Megatron-LM: heads and MLP columns split;
// KV heads replicated when there are fewer than GPUs).
struct Shard {
  std::int64_t heads;
  std::int64_t kv_heads;
  std::int64_t intermediate;
  std::int64_t vocab;
};

Shard shard(const LlmSpec& s, std::int64_t tp) {
  if (tp < 1 || s.heads % tp != 0) {
    throw InputError(fmt::format("model {}", s.name), "", fmt::format(
        "tensor parallel degree {} must divide the {} attention heads", tp, s.heads));
  }
  return Shard{s.heads / tp, s.kv_heads >= tp ? s.kv_heads / tp : 1,
               (s.intermediate_size + tp - 1) / tp, (s.vocab_size + tp - 1) / tp};
}

double d(std::int64_t v) { return static_cast<double>(v); }


// `longest`: the keys of the longest sequence, to flag attention beyond a sliding window.
AttentionShape attention_shape(const Shard& sh, const LlmSpec& s, std::int64_t batch,
                               std::int64_t q, std::int64_t kv, std::int64_t pairs, bool prefill,
                               std::int64_t longest) {
  AttentionShape a{batch, q, kv, pairs, sh.heads, sh.kv_heads, s.head_dim, prefill};
  a.longest_kv = longest;
  if (s.sliding_window > 0 && longest > s.sliding_window) a.beyond_window = s.sliding_window;
  return a;
}

// Attention of q queries (summed over the batch) against kv keys with `pairs` query-key pairs
// per head. Fused: Q, K, V read once, O written once (FlashAttention, Dao et al. 2022).
// Eager (HuggingFace "eager"): the dense q x kv score matrix is computed whatever the mask,
// written, masked, soft-maxed in fp32, cast back, and read again by the second GEMM.
void attention_ops(AttentionOps& out, const LlmSpec& s, const Shard& sh,
                   const AttentionShape& shape, std::int64_t dense_elements,
                   const DecomposeOptions& o) {
  const Precision& p = o.precision;
  const double act = bytes_of(p.activations);
  const double q_bytes = d(shape.q_tokens) * d(sh.heads * s.head_dim) * act;
  const double kv_bytes = 2.0 * d(shape.kv_tokens) * d(sh.kv_heads * s.head_dim) *
                          bytes_of(p.kv_cache);
  Operation base{};
  base.op_class = OpClass::kAttention;
  base.stage = LayerStage::kAttention;
  base.dtype = p.activations;
  base.attention = shape;
  if (o.attention == AttentionImpl::kFused) {
    Operation op = base;
    op.kind = OpKind::kAttention;
    op.flops = 4.0 * d(sh.heads) * d(s.head_dim) * d(shape.pairs);  // QK^T and PV
    op.bytes_read = q_bytes + kv_bytes;
    op.bytes_written = q_bytes;
    out.ops[out.count++] = op;
    return;
  }
  const double scores = d(sh.heads) * d(dense_elements);  // elements of the score matrix
  Operation qk = base;
  qk.kind = OpKind::kAttnScores;
  qk.flops = 2.0 * scores * d(s.head_dim);
  qk.bytes_read = q_bytes + kv_bytes / 2;
  qk.bytes_written = scores * act;
  Operation softmax = base;
  softmax.kind = OpKind::kAttnSoftmax;
  softmax.op_class = OpClass::kElementwise;
  softmax.flops = 5.0 * scores;  // scale, mask, max, exp, normalise
  // Reads the scores and the (per-head broadcast) mask, writes fp32 probabilities, then the cast
  // back to the activation type reads those and writes the half-precision copy.
  softmax.bytes_read = scores * (act + 4.0) + d(dense_elements) * act;
  softmax.bytes_written = scores * (4.0 + act);
  Operation pv = base;
  pv.kind = OpKind::kAttnValue;
  pv.flops = 2.0 * scores * d(s.head_dim);
  pv.bytes_read = scores * act + kv_bytes / 2;
  pv.bytes_written = q_bytes;
  out.ops[out.count++] = qk;
  out.ops[out.count++] = softmax;
  out.ops[out.count++] = pv;
}

// Everything of a layer except attention, for `tokens` rows.
void linear_ops(std::vector<Operation>& out, const LlmSpec& s, const Shard& sh,
                std::int64_t tokens, LayerStage stage, const DecomposeOptions& o) {
  const Precision& p = o.precision;
  const std::int64_t h = s.hidden_size;
  if (stage == LayerStage::kPreAttention) {
    out.push_back(elementwise(OpKind::kInputNorm, stage, tokens, h, 1, 5, h, p));
    out.push_back(gemm(OpKind::kQkvProj, stage, tokens, (sh.heads + 2 * sh.kv_heads) * s.head_dim,
                       h, p));
    if (s.positional == PositionalKind::kRope) {
      out.push_back(elementwise(OpKind::kRotary, stage, tokens,
                                (sh.heads + sh.kv_heads) * s.head_dim, 1, 3, 0, p));
    }
    return;
  }
  out.push_back(gemm(OpKind::kOutProj, stage, tokens, h, sh.heads * s.head_dim, p));
  if (!s.parallel_attention) {
    out.push_back(elementwise(OpKind::kResidualAdd, stage, tokens, h, 2, 1, 0, p));
    out.push_back(elementwise(OpKind::kPostAttnNorm, stage, tokens, h, 1, 5, h, p));
  }
  if (s.moe.enabled()) {
    mixture_mlp_ops(out, s, tokens, o);  // moe_operations.hpp
  } else {
    const std::int64_t up = (s.gated_mlp ? 2 : 1) * sh.intermediate;
    out.push_back(gemm(OpKind::kMlpUp, stage, tokens, up, h, p));
    out.push_back(elementwise(OpKind::kMlpAct, stage, tokens, sh.intermediate,
                              s.gated_mlp ? 2 : 1, s.gated_mlp ? 6 : 8, 0, p));
    out.push_back(gemm(OpKind::kMlpDown, stage, tokens, h, sh.intermediate, p));
  }
  // A parallel block adds attention output, MLP output and the residual in one pass.
  out.push_back(elementwise(OpKind::kResidualAdd, stage, tokens, h,
                            s.parallel_attention ? 3 : 2, s.parallel_attention ? 2 : 1, 0, p));
}

}  // namespace

// Per-operation precision: the formats of the group a GEMM belongs to (dtype.hpp, GemmGroup).
Precision for_operation(OpKind kind, const Precision& p) {
  std::optional<GemmGroup> group;
  if (kind == OpKind::kQkvProj || kind == OpKind::kOutProj) group = GemmGroup::kAttention;
  if (kind == OpKind::kMlpUp || kind == OpKind::kMlpDown) group = GemmGroup::kMlp;
  // A MoE layer's router and routed experts are its MLP (moe_operations.hpp).
  if (kind == OpKind::kRouter || kind == OpKind::kExpertUp || kind == OpKind::kExpertDown) {
    group = GemmGroup::kMlp;
  }
  if (kind == OpKind::kLmHead || kind == OpKind::kEmbedding) group = GemmGroup::kLmHead;
  if (!group) return p;
  Precision q = p;
  const GemmFormat f = p.of(*group);
  q.weights = f.weights;
  q.activations = f.activations;
  return q;
}

// A kernel that reads `inputs` tensors of tokens x width and writes one, plus `weights` elements.
Operation elementwise(OpKind kind, LayerStage stage, std::int64_t tokens, std::int64_t width,
                      int inputs, double flops_per_element, std::int64_t weights,
                      const Precision& p) {
  Operation op{};
  op.kind = kind;
  op.op_class = OpClass::kElementwise;
  op.stage = stage;
  op.dtype = p.activations;
  op.weights = p.of(GemmGroup::kLmHead).weights;
  const double elements = d(tokens) * d(width);
  op.rows = tokens;
  op.flops = flops_per_element * elements;
  // A norm's scale stays in the unquantised format of the embedding and LM head.
  op.weight_bytes = d(weights) * bytes_of(op.weights);
  op.bytes_read = inputs * elements * bytes_of(p.activations) + op.weight_bytes;
  op.bytes_written = elements * bytes_of(p.activations);
  return op;
}

Operation gemm(OpKind kind, LayerStage stage, std::int64_t m, std::int64_t n, std::int64_t k,
               const Precision& precision) {
  const Precision p = for_operation(kind, precision);
  Operation op{};
  op.kind = kind;
  op.op_class = OpClass::kGemm;
  op.stage = stage;
  op.dtype = p.activations;
  op.weights = p.weights;
  op.gemm = GemmShape{m, n, k};
  op.rows = m;
  op.flops = 2.0 * d(m) * d(n) * d(k);
  op.weight_bytes = d(n) * d(k) * bytes_of(p.weights);
  op.bytes_read = d(m) * d(k) * bytes_of(p.activations) + op.weight_bytes;
  op.bytes_written = d(m) * d(n) * bytes_of(p.activations);
  return op;
}

std::int64_t causal_pairs(std::int64_t q, std::int64_t kv) {
  return q * (kv - q) + q * (q + 1) / 2;
}

AttentionOps prefill_attention(const LlmSpec& spec, const PrefillChunk& chunk,
                               const DecomposeOptions& o) {
  if (chunk.q_tokens < 1 || chunk.kv_tokens < chunk.q_tokens) {
    throw std::invalid_argument(fmt::format("prefill chunk of {} queries over {} keys is invalid",
                                            chunk.q_tokens, chunk.kv_tokens));
  }
  check_tokens(spec, chunk.kv_tokens);  // bounds q x kv below 2^60: no overflow
  const Shard sh = shard(spec, o.tensor_parallel);
  const std::int64_t dense = chunk.q_tokens * chunk.kv_tokens;
  const std::int64_t pairs =
      chunk.mask == Mask::kDense ? dense : causal_pairs(chunk.q_tokens, chunk.kv_tokens);
  AttentionOps out;
  attention_ops(out, spec, sh,
                attention_shape(sh, spec, 1, chunk.q_tokens, chunk.kv_tokens, pairs, true,
                                chunk.kv_tokens),
                dense, o);
  return out;
}

AttentionOps decode_attention(const LlmSpec& spec, std::int64_t batch, std::int64_t kv_sum,
                              std::int64_t longest, const DecomposeOptions& o) {
  if (batch < 1) throw std::invalid_argument("decode batch is empty");
  check_batch(spec, batch);
  check_tokens(spec, longest);  // every length is at most the longest: the sum stays below 2^50
  const Shard sh = shard(spec, o.tensor_parallel);
  // One query per request against its own KV length: pairs == kv summed (no averaging of skew).
  AttentionOps out;
  attention_ops(out, spec, sh,
                attention_shape(sh, spec, batch, batch, kv_sum, kv_sum, false, longest), kv_sum,
                o);
  return out;
}

std::vector<Operation> prefill_layer(const LlmSpec& spec, const PrefillChunk& chunk,
                                     const DecomposeOptions& o) {
  const AttentionOps attention = prefill_attention(spec, chunk, o);
  const Shard sh = shard(spec, o.tensor_parallel);
  std::vector<Operation> ops;
  ops.reserve(14);
  linear_ops(ops, spec, sh, chunk.q_tokens, LayerStage::kPreAttention, o);
  ops.insert(ops.end(), attention.begin(), attention.end());
  linear_ops(ops, spec, sh, chunk.q_tokens, LayerStage::kPostAttention, o);
  return ops;
}

std::vector<Operation> decode_layer(const LlmSpec& spec, std::span<const std::int64_t> kv_lengths,
                                    const DecomposeOptions& o) {
  if (kv_lengths.empty()) throw std::invalid_argument("decode batch is empty");
  const auto batch = static_cast<std::int64_t>(kv_lengths.size());
  const std::int64_t longest = *std::max_element(kv_lengths.begin(), kv_lengths.end());
  check_batch(spec, batch);
  check_tokens(spec, longest);  // before summing: the sum stays below 2^50
  const std::int64_t kv = std::accumulate(kv_lengths.begin(), kv_lengths.end(), std::int64_t{0});
  const AttentionOps attention = decode_attention(spec, batch, kv, longest, o);
  const Shard sh = shard(spec, o.tensor_parallel);
  std::vector<Operation> ops;
  ops.reserve(14);
  linear_ops(ops, spec, sh, batch, LayerStage::kPreAttention, o);
  ops.insert(ops.end(), attention.begin(), attention.end());
  linear_ops(ops, spec, sh, batch, LayerStage::kPostAttention, o);
  return ops;
}

std::vector<Operation> model_ends(const LlmSpec& spec, std::int64_t input_tokens,
                                  std::int64_t output_rows, const DecomposeOptions& o) {
  check_tokens(spec, input_tokens);
  check_batch(spec, output_rows);
  const Shard sh = shard(spec, o.tensor_parallel);
  const Precision& p = o.precision;
  const std::int64_t h = spec.hidden_size;
  std::vector<Operation> ops;
  // Embedding: a gather of one weight row per token.
  Operation emb = elementwise(OpKind::kEmbedding, LayerStage::kModel, input_tokens, h, 0, 0, 0, p);
  emb.bytes_read = d(input_tokens) * d(h) * bytes_of(p.of(GemmGroup::kLmHead).weights);
  emb.weight_bytes = emb.bytes_read;
  ops.push_back(emb);
  ops.push_back(elementwise(OpKind::kFinalNorm, LayerStage::kModel, output_rows, h, 1, 5, h, p));
  ops.push_back(gemm(OpKind::kLmHead, LayerStage::kModel, output_rows, sh.vocab, h, p));
  ops.push_back(elementwise(OpKind::kSampling, LayerStage::kModel, output_rows, sh.vocab, 1, 5, 0,
                            p));
  return ops;
}

double total_flops(std::span<const Operation> ops) {
  double t = 0;
  for (const auto& op : ops) t += op.flops;
  return t;
}

double total_bytes(std::span<const Operation> ops) {
  double t = 0;
  for (const auto& op : ops) t += op.bytes();
  return t;
}

void refuse_beyond_window(const Operation& op) {
  if (op.op_class != OpClass::kAttention || op.attention.beyond_window == 0) return;
  const std::int64_t w = op.attention.beyond_window;
  throw InputError("model", "", fmt::format(
      "attention over a sequence longer than the model's sliding window of {} tokens: kvsim "
      "models full causal attention only, which is exact within the window, so it prices this "
      "model for contexts of at most {} tokens (sliding windows are not modelled yet)", w, w));
}

std::string to_string(OpKind kind) {
  switch (kind) {
    case OpKind::kEmbedding: return "embedding";
    case OpKind::kInputNorm: return "input_norm";
    case OpKind::kQkvProj: return "qkv_proj";
    case OpKind::kRotary: return "rotary";
    case OpKind::kAttention: return "attention";
    case OpKind::kAttnScores: return "attn_scores";
    case OpKind::kAttnSoftmax: return "attn_softmax";
    case OpKind::kAttnValue: return "attn_value";
    case OpKind::kOutProj: return "out_proj";
    case OpKind::kResidualAdd: return "residual_add";
    case OpKind::kPostAttnNorm: return "post_attn_norm";
    case OpKind::kMlpUp: return "mlp_up";
    case OpKind::kMlpAct: return "mlp_act";
    case OpKind::kMlpDown: return "mlp_down";
    case OpKind::kFinalNorm: return "final_norm";
    case OpKind::kLmHead: return "lm_head";
    case OpKind::kSampling: return "sampling";
    case OpKind::kRouter: return "router";
    case OpKind::kRouterTopK: return "router_topk";
    case OpKind::kExpertUp: return "expert_up";
    case OpKind::kExpertAct: return "expert_act";
    case OpKind::kExpertDown: return "expert_down";
  }
  return "?";
}

}  // namespace kvsim
