#include "models/llm/operations.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "models/llm/attention_internal.hpp"
#include "models/llm/limits.hpp"
#include "models/llm/moe_operations.hpp"
#include "models/llm/mla.hpp"

namespace kvsim {
namespace {

using llm_internal::Shard;
using llm_internal::shard;

double d(std::int64_t v) { return static_cast<double>(v); }

// Everything of a layer except attention, for `tokens` rows.
void linear_ops(std::vector<Operation>& out, const LlmSpec& s, const Shard& sh,
                std::int64_t tokens, LayerStage stage, const DecomposeOptions& o) {
  const Precision& p = o.precision;
  const std::int64_t h = s.hidden_size;
  if (stage == LayerStage::kPreAttention) {
    out.push_back(elementwise(OpKind::kInputNorm, stage, tokens, h, 1, 5, h, p));
    if (s.mla.on()) return mla_pre_attention(out, s, sh.heads, tokens, p);
    out.push_back(gemm(OpKind::kQkvProj, stage, tokens, (sh.heads + 2 * sh.kv_heads) * s.head_dim,
                       h, p));
    if (s.positional == PositionalKind::kRope) {  // partial rotary (GPT-J): its dimensions
      const std::int64_t turned = s.rotary_dim > 0 ? s.rotary_dim : s.head_dim;
      out.push_back(elementwise(OpKind::kRotary, stage, tokens,
                                (sh.heads + sh.kv_heads) * turned, 1, 3, 0, p));
    }
    return;
  }
  const std::int64_t head_out = s.mla.on() ? s.mla.v_head_dim : s.head_dim;
  out.push_back(gemm(OpKind::kOutProj, stage, tokens, h, sh.heads * head_out, p));
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
  // Latent attention's projections are attention weights (LlmSpec::attention_parameters).
  if (kind == OpKind::kQUpProj || kind == OpKind::kKvUpProj || kind == OpKind::kMlaAbsorbQ ||
      kind == OpKind::kMlaAbsorbOut) {
    group = GemmGroup::kAttention;
  }
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

std::vector<Operation> prefill_layer(const LlmSpec& spec, const PrefillChunk& chunk,
                                     const DecomposeOptions& o) {
  const AttentionOps attention = prefill_attention(spec, chunk, o);
  const Shard sh = shard(spec, o.tensor_parallel);
  std::vector<Operation> ops;
  ops.reserve(16);
  linear_ops(ops, spec, sh, chunk.q_tokens, LayerStage::kPreAttention, o);
  ops.insert(ops.end(), attention.begin(), attention.end());
  linear_ops(ops, spec, sh, chunk.q_tokens, LayerStage::kPostAttention, o);
  return ops;
}

std::vector<Operation> decode_layer(const LlmSpec& spec, std::span<const std::int64_t> kv_lengths,
                                    const DecomposeOptions& o) {
  if (kv_lengths.empty()) throw std::invalid_argument("decode batch is empty");
  const auto batch = static_cast<std::int64_t>(kv_lengths.size());
  const AttentionOps attention = decode_attention(spec, kv_lengths, o);  // checks the batch
  const Shard sh = shard(spec, o.tensor_parallel);
  std::vector<Operation> ops;
  ops.reserve(16);
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
  for (const auto& op : ops) t += op.flops * op.layer_share;
  return t;
}

double total_bytes(std::span<const Operation> ops) {
  double t = 0;
  for (const auto& op : ops) t += op.bytes() * op.layer_share;
  return t;
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
    case OpKind::kLatentNorm: return "latent_norm";
    case OpKind::kQUpProj: return "q_up_proj";
    case OpKind::kKvUpProj: return "kv_up_proj";
    case OpKind::kMlaAbsorbQ: return "mla_absorb_q";
    case OpKind::kMlaAbsorbOut: return "mla_absorb_out";
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
