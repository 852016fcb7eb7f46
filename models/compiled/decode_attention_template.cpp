#include "models/compiled/decode_attention_template.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace kvsim {
namespace {

double d(std::int64_t v) { return static_cast<double>(v); }

// Every field of an operation equal (doubles bit for bit, as == compares them).
bool same(const Operation& a, const Operation& b) {
  const AttentionShape& x = a.attention;
  const AttentionShape& y = b.attention;
  return a.kind == b.kind && a.op_class == b.op_class && a.stage == b.stage &&
         a.dtype == b.dtype && a.weights == b.weights && a.flops == b.flops &&
         a.bytes_read == b.bytes_read && a.bytes_written == b.bytes_written &&
         a.weight_bytes == b.weight_bytes && a.layer_share == b.layer_share &&
         a.rows == b.rows && a.gemm.m == b.gemm.m && a.gemm.n == b.gemm.n &&
         a.gemm.k == b.gemm.k && a.groups == b.groups && x.batch == y.batch &&
         x.q_tokens == y.q_tokens && x.kv_tokens == y.kv_tokens && x.pairs == y.pairs &&
         x.heads == y.heads && x.kv_heads == y.kv_heads && x.head_dim == y.head_dim &&
         x.v_head_dim == y.v_head_dim && x.prefill == y.prefill && x.window == y.window &&
         x.longest_kv == y.longest_kv;
}

}  // namespace

std::optional<DecodeAttentionTemplate> DecodeAttentionTemplate::make(
    const LlmSpec& spec, const DecomposeOptions& options) {
  if (spec.mla.on() || options.attention != AttentionImpl::kFused ||
      decode_attention_windowed(spec, options)) {
    return std::nullopt;
  }
  const AttentionOps built = decode_attention(spec, DecodeTotals{1, 1, 1}, options);
  if (built.count != 1 || built.ops[0].kind != OpKind::kAttention) return std::nullopt;
  DecodeAttentionTemplate t(spec, built.ops[0], options.precision);
  // Probe batches: one request, a small batch, a large one with a long request.
  const std::array<DecodeTotals, 3> probes{
      {{1, 1, 1}, {7, 5003, 1201}, {256, 1'048'573, 32'768}}};
  for (const DecodeTotals& p : probes) {
    const Operation want = decode_attention(spec, p, options).ops[0];
    if (!same(t.at(p), want)) return std::nullopt;
  }
  return t;
}

DecodeAttentionTemplate::DecodeAttentionTemplate(const LlmSpec& spec, const Operation& op,
                                                 const Precision& precision)
    : spec_(&spec),
      op_(op),
      query_width_(d(op.attention.heads * op.attention.head_dim)),
      kv_width_(d(op.attention.kv_heads * op.attention.head_dim)),
      activation_bytes_(bytes_of(precision.activations)),
      kv_cache_bytes_(bytes_of(precision.kv_cache)),
      flops_per_pair_(4.0 * d(op.attention.heads) * d(op.attention.head_dim)) {}

// attention_ops' fused kernel for one query per request against its own keys (pairs == keys).
const Operation& DecodeAttentionTemplate::at(const DecodeTotals& t) {
  if (t.batch < 1) throw std::invalid_argument("decode batch is empty");
  check_batch(*spec_, t.batch);
  check_tokens(*spec_, t.most);  // sum < 2^50
  AttentionShape& a = op_.attention;
  a.batch = t.batch;
  a.q_tokens = t.batch;
  a.kv_tokens = t.kv;
  a.pairs = t.kv;
  a.longest_kv = std::max<std::int64_t>(0, t.most);
  const double q_bytes = d(t.batch) * query_width_ * activation_bytes_;
  const double kv_bytes = 2.0 * d(t.kv) * kv_width_ * kv_cache_bytes_;
  op_.flops = flops_per_pair_ * d(t.kv);
  op_.bytes_read = q_bytes + kv_bytes;
  op_.bytes_written = q_bytes;
  return op_;
}

}  // namespace kvsim
