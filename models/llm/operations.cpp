#include "models/llm/operations.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "models/llm/decode_totals.hpp"
#include "models/llm/limits.hpp"
#include "models/llm/moe_operations.hpp"
#include "models/llm/mla.hpp"
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

AttentionShape attention_shape(const Shard& sh, const LlmSpec& s, std::int64_t batch,
                               std::int64_t q, std::int64_t kv, std::int64_t pairs, bool prefill,
                               std::int64_t longest) {
  AttentionShape a{.batch = batch, .q_tokens = q, .kv_tokens = kv, .pairs = pairs,
                   .heads = sh.heads, .kv_heads = sh.kv_heads, .head_dim = s.head_dim,
                   .prefill = prefill};
  a.longest_kv = longest;
  return a;
}

// One kind of attention layer: its window (0: full) and its share of the model's layers.
struct LayerKind {
  std::int64_t window;
  double share;
};

// At most two kinds, held without allocating (the compiled cost prices attention per call).
struct LayerKinds {
  std::array<LayerKind, 2> kinds{};
  std::size_t count = 0;
  const LayerKind* begin() const { return kinds.data(); }
  const LayerKind* end() const { return kinds.data() + count; }
};

// Full attention; or every layer windowed (Mistral); or both kinds (Gemma-2/3). Eager attention
// computes the whole q x kv rectangle and masks it, window or not: one kind.
LayerKinds layer_kinds(const LlmSpec& s, const DecomposeOptions& o) {
  const std::int64_t windowed = o.attention == AttentionImpl::kEager ? 0 : s.windowed_layers();
  if (windowed == 0) return {{{{0, 1.0}}}, 1};
  if (windowed == s.layers) return {{{{s.sliding_window, 1.0}}}, 1};
  const double share = d(windowed) / d(s.layers);
  return {{{{s.sliding_window, share}, {0, d(s.layers - windowed) / d(s.layers)}}}, 2};
}

// Attention of q queries (summed over the batch) against kv keys with `pairs` query-key pairs
// per head. Fused: Q, K, V read once, O written once (FlashAttention, Dao et al. 2022).
// Eager (HuggingFace "eager"): the dense q x kv score matrix is computed whatever the mask,
// written, masked, soft-maxed in fp32, cast back, and read again by the second GEMM.
void attention_ops(AttentionOps& out, const LlmSpec& s, const Shard& sh,
                   const AttentionShape& shape, std::int64_t dense_elements,
                   const DecomposeOptions& o) {
  if (s.mla.on()) {
    if (o.attention == AttentionImpl::kEager) {
      throw InputError(fmt::format("model {}", s.name), "",
                       "latent attention is priced with fused kernels only, as engines run it "
                       "(FlashMLA, FlashAttention): give \"attention\": \"fused\"");
    }
    mla_attention(out, s, shape, o.precision);
    return;
  }
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
    out.push(op);
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
  out.push(qk);
  out.push(softmax);
  out.push(pv);
}

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

std::int64_t causal_pairs(std::int64_t q, std::int64_t kv) {
  return q * (kv - q) + q * (q + 1) / 2;
}

std::int64_t windowed_pairs(std::int64_t q, std::int64_t kv, std::int64_t window) {
  // Keys seen by the queries at positions 1..n: the sum of min(x, window) for x = 1..n.
  auto seen = [window](std::int64_t n) {
    return n <= window ? n * (n + 1) / 2 : window * (window + 1) / 2 + (n - window) * window;
  };
  return seen(kv) - seen(kv - q);
}

AttentionOps prefill_attention(const LlmSpec& spec, const PrefillChunk& chunk,
                               const DecomposeOptions& o) {
  if (chunk.q_tokens < 1 || chunk.kv_tokens < chunk.q_tokens) {
    throw std::invalid_argument(fmt::format("prefill chunk of {} queries over {} keys is invalid",
                                            chunk.q_tokens, chunk.kv_tokens));
  }
  check_tokens(spec, chunk.kv_tokens);  // bounds q x kv below 2^60: no overflow
  const Shard sh = shard(spec, o.tensor_parallel);
  const std::int64_t q = chunk.q_tokens;
  const std::int64_t dense = q * chunk.kv_tokens;
  AttentionOps out;
  for (const LayerKind& k : layer_kinds(spec, o)) {
    // A windowed causal chunk reads the keys its queries see: the last q + window - 1 at most.
    // The dense rectangle (the TSP baseline's) computes every key, window or not.
    const std::int64_t window = chunk.mask == Mask::kCausal ? k.window : 0;
    const std::int64_t kv = window > 0 ? std::min(chunk.kv_tokens, q + window - 1)
                                       : chunk.kv_tokens;
    const std::int64_t pairs = chunk.mask == Mask::kDense ? dense
                               : window > 0 ? windowed_pairs(q, chunk.kv_tokens, window)
                                            : causal_pairs(q, chunk.kv_tokens);
    AttentionShape a = attention_shape(sh, spec, 1, q, kv, pairs, true, kv);
    a.window = window;
    const std::size_t first = out.count;
    attention_ops(out, spec, sh, a, dense, o);
    out.set_share(first, k.share);
  }
  return out;
}

namespace {

// One kind of decode attention layer over the batch's totals: its summed KV (`kv`: pairs ==
// keys, one query per request) and its longest request, both inside the kind's window.
void add_decode_kind(AttentionOps& out, const LlmSpec& spec, const Shard& sh, std::int64_t batch,
                     std::int64_t kv, std::int64_t longest, const LayerKind& k,
                     const DecomposeOptions& o) {
  AttentionShape a = attention_shape(sh, spec, batch, batch, kv, kv, false, longest);
  a.window = k.window;
  const std::size_t first = out.count;
  attention_ops(out, spec, sh, a, kv, o);
  out.set_share(first, k.share);
}

}  // namespace

AttentionOps decode_attention(const LlmSpec& spec, std::span<const std::int64_t> kv_lengths,
                              const DecomposeOptions& o) {
  if (kv_lengths.empty()) throw std::invalid_argument("decode batch is empty");
  const auto batch = static_cast<std::int64_t>(kv_lengths.size());
  check_batch(spec, batch);
  check_tokens(spec, *std::max_element(kv_lengths.begin(), kv_lengths.end()));  // sum < 2^50
  const Shard sh = shard(spec, o.tensor_parallel);
  AttentionOps out;
  for (const LayerKind& k : layer_kinds(spec, o)) {
    // One query per request against its own keys (those inside the window): pairs == keys
    // summed (no averaging of skew).
    std::int64_t kv = 0;
    std::int64_t longest = 0;
    for (const std::int64_t l : kv_lengths) {
      const std::int64_t seen = k.window > 0 ? std::min(l, k.window) : l;
      kv += seen;
      longest = std::max(longest, seen);
    }
    add_decode_kind(out, spec, sh, batch, kv, longest, k, o);
  }
  return out;
}

bool decode_attention_windowed(const LlmSpec& spec, const DecomposeOptions& o) {
  const LayerKinds kinds = layer_kinds(spec, o);
  return std::any_of(kinds.begin(), kinds.end(), [](const LayerKind& k) { return k.window > 0; });
}

AttentionOps decode_attention(const LlmSpec& spec, const DecodeTotals& t,
                              const DecomposeOptions& o) {
  if (t.batch < 1) throw std::invalid_argument("decode batch is empty");
  check_batch(spec, t.batch);
  check_tokens(spec, t.most);  // sum < 2^50
  const Shard sh = shard(spec, o.tensor_parallel);
  const LayerKinds kinds = layer_kinds(spec, o);
  if (kinds.count != 1 || kinds.kinds[0].window > 0) {
    throw std::logic_error("decode_attention from totals: the model has windowed attention");
  }
  AttentionOps out;
  add_decode_kind(out, spec, sh, t.batch, t.kv, std::max<std::int64_t>(0, t.most),
                  kinds.kinds[0], o);
  return out;
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
