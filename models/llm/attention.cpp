// The attention operations of a layer (operations.hpp: prefill_attention, decode_attention and
// decode_attention from totals), the attention layer kinds and the tensor-parallel shard they
// share with the rest of the decomposition (attention_internal.hpp). Split from operations.cpp,
// which assembles whole layers around these.

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "models/llm/attention_internal.hpp"
#include "models/llm/decode_totals.hpp"
#include "models/llm/limits.hpp"
#include "models/llm/mla.hpp"
#include "sim/core/input_error.hpp"

namespace kvsim {
namespace llm_internal {

Shard shard(const LlmSpec& s, std::int64_t tp) {
  if (tp < 1 || s.heads % tp != 0) {
    throw InputError(fmt::format("model {}", s.name), "", fmt::format(
        "tensor parallel degree {} must divide the {} attention heads", tp, s.heads));
  }
  return Shard{s.heads / tp, s.kv_heads >= tp ? s.kv_heads / tp : 1,
               (s.intermediate_size + tp - 1) / tp, (s.vocab_size + tp - 1) / tp};
}

// Full attention; or every layer windowed (Mistral); or both kinds (Gemma-2/3). Eager attention
// computes the whole q x kv rectangle and masks it, window or not: one kind.
LayerKinds layer_kinds(const LlmSpec& s, const DecomposeOptions& o) {
  const std::int64_t windowed = o.attention == AttentionImpl::kEager ? 0 : s.windowed_layers();
  if (windowed == 0) return {{{{0, 1.0}}}, 1};
  if (windowed == s.layers) return {{{{s.sliding_window, 1.0}}}, 1};
  const auto d = [](std::int64_t v) { return static_cast<double>(v); };
  const double share = d(windowed) / d(s.layers);
  return {{{{s.sliding_window, share}, {0, d(s.layers - windowed) / d(s.layers)}}}, 2};
}

}  // namespace llm_internal

namespace {

using llm_internal::LayerKind;
using llm_internal::LayerKinds;
using llm_internal::layer_kinds;
using llm_internal::Shard;
using llm_internal::shard;

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

}  // namespace

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


}  // namespace kvsim
