#include "models/llm/mla.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "models/llm/limits.hpp"

namespace kvsim {
namespace {

double d(std::int64_t v) { return static_cast<double>(v); }

std::int64_t qk_width(const MlaSpec& m) { return m.qk_nope_head_dim + m.qk_rope_head_dim; }

// A width in [min, kWidth] read from `node` (catalog or Hugging Face spelling alike).
std::int64_t width(const ConfigNode& node, const std::string& key, std::int64_t min) {
  const std::int64_t x = node.at(key).as_integer();
  if (x < min || x > limits::kWidth) {
    node.at(key).fail(fmt::format("must be between {} and {} (kvsim's limit), got {}", min,
                                  limits::kWidth, x));
  }
  return x;
}

MlaSpec read_mla(const ConfigNode& node) {
  MlaSpec m;
  // q_lora_rank 0 (null in DeepSeek-V2-Lite's config): queries straight from the hidden state.
  const auto q = node.find("q_lora_rank");
  m.q_lora_rank = q && !q->json().is_null() ? width(node, "q_lora_rank", 0) : 0;
  m.kv_lora_rank = width(node, "kv_lora_rank", 1);
  m.qk_nope_head_dim = width(node, "qk_nope_head_dim", 1);
  m.qk_rope_head_dim = width(node, "qk_rope_head_dim", 1);
  m.v_head_dim = width(node, "v_head_dim", 1);
  return m;
}

// Heads x the widest per-head width must stay inside kvsim's width limit (no product overflows).
void check_widths(const ConfigNode& at, const LlmSpec& s) {
  const std::int64_t widest = std::max(qk_width(s.mla), s.mla.v_head_dim);
  if (s.heads * widest > limits::kWidth || mla_kv_width(s.mla) > limits::kWidth) {
    at.fail(fmt::format("{} heads of {} make a width beyond kvsim's limit of {}", s.heads,
                        widest, limits::kWidth));
  }
}

}  // namespace

std::int64_t mla_kv_width(const MlaSpec& m) { return m.kv_lora_rank + m.qk_rope_head_dim; }

std::int64_t mla_attention_parameters(const LlmSpec& s) {
  const MlaSpec& m = s.mla;
  const std::int64_t h = s.hidden_size;
  const std::int64_t q_out = s.heads * qk_width(m);
  // q_a_proj, q_a_layernorm and q_b_proj; or one q_proj.
  const std::int64_t q =
      m.q_lora_rank > 0 ? h * m.q_lora_rank + m.q_lora_rank + m.q_lora_rank * q_out : h * q_out;
  const std::int64_t kv_a = h * mla_kv_width(m) + m.kv_lora_rank;  // kv_a_proj_with_mqa, norm
  const std::int64_t kv_b = m.kv_lora_rank * s.heads * (m.qk_nope_head_dim + m.v_head_dim);
  const std::int64_t o = s.heads * m.v_head_dim * h;
  return q + kv_a + kv_b + o;
}

std::int64_t mla_attention_activations(const LlmSpec& s) {
  const MlaSpec& m = s.mla;
  return s.heads * (2 * qk_width(m) + 2 * m.v_head_dim) + mla_kv_width(m);
}

void parse_mla(const ConfigNode& node, const ConfigNode& spec_node, LlmSpec& s) {
  if (!node.json().is_object()) node.fail("\"mla\" is an object of the latent attention's widths");
  s.mla = read_mla(node);
  node.finish();
  if (s.kv_heads != 1) {
    spec_node.at("kv_heads").fail(fmt::format(
        "a latent-attention model caches one latent shared by every head: kv_heads must be 1, "
        "got {}", s.kv_heads));
  }
  if (s.head_dim != qk_width(s.mla)) {
    spec_node.at("head_dim").fail(fmt::format(
        "a latent-attention model's head_dim is qk_nope_head_dim + qk_rope_head_dim = {}, got {}",
        qk_width(s.mla), s.head_dim));
  }
  check_widths(node, s);
}

Json mla_to_json(const MlaSpec& m) {
  return Json{{"q_lora_rank", m.q_lora_rank},
              {"kv_lora_rank", m.kv_lora_rank},
              {"qk_nope_head_dim", m.qk_nope_head_dim},
              {"qk_rope_head_dim", m.qk_rope_head_dim},
              {"v_head_dim", m.v_head_dim}};
}

void import_hf_mla(const ConfigNode& node, LlmSpec& s) {
  s.mla = read_mla(node);
  s.kv_heads = 1;
  s.head_dim = qk_width(s.mla);
  check_widths(node.at("kv_lora_rank"), s);
}

void refuse_mla_keys(const ConfigNode& node, const std::string& hint) {
  for (const char* key : {"kv_lora_rank", "q_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim"}) {
    const auto v = node.find(key);
    if (v && !v->json().is_null() && v->json() != 0) {
      v->fail(fmt::format("a multi-head latent attention key here would be ignored; {}", hint));
    }
  }
}

void mla_pre_attention(std::vector<Operation>& out, const LlmSpec& s, std::int64_t heads,
                       std::int64_t tokens, const Precision& p) {
  const MlaSpec& m = s.mla;
  const LayerStage pre = LayerStage::kPreAttention;
  // q_a_proj and kv_a_proj_with_mqa read the same input: one replicated GEMM (vLLM's
  // fused_qkv_a_proj), then RMSNorm of both latents.
  out.push_back(gemm(OpKind::kQkvProj, pre, tokens, m.q_lora_rank + mla_kv_width(m),
                     s.hidden_size, p));
  const std::int64_t latents = m.q_lora_rank + m.kv_lora_rank;
  out.push_back(elementwise(OpKind::kLatentNorm, pre, tokens, latents, 1, 5, latents, p));
  // Per-head queries from the query latent (q_b_proj), or from the hidden state (q_proj).
  out.push_back(gemm(OpKind::kQUpProj, pre, tokens, heads * qk_width(m),
                     m.q_lora_rank > 0 ? m.q_lora_rank : s.hidden_size, p));
  // Rotary on every head's query rope part and on the one shared rotary key.
  out.push_back(elementwise(OpKind::kRotary, pre, tokens, (heads + 1) * m.qk_rope_head_dim, 1, 3,
                            0, p));
}

namespace {

Operation attention_op(const AttentionShape& shape, const Precision& p, double flops,
                       double read, double written) {
  Operation op{};
  op.kind = OpKind::kAttention;
  op.op_class = OpClass::kAttention;
  op.stage = LayerStage::kAttention;
  op.dtype = p.activations;
  op.attention = shape;
  op.flops = flops;
  op.bytes_read = read;
  op.bytes_written = written;
  return op;
}

// A batched GEMM of `heads` products, each (rows x k) x (k x n) with the head's own weight: the
// FLOPs and weights of one rows x (heads n) x k GEMM, but each head reads its own k-wide input.
Operation per_head_gemm(OpKind kind, std::int64_t rows, std::int64_t heads, std::int64_t n,
                        std::int64_t k, const Precision& p) {
  Operation op = gemm(kind, LayerStage::kAttention, rows, heads * n, k, p);
  op.bytes_read = d(rows) * d(heads * k) * bytes_of(op.dtype) + op.weight_bytes;
  return op;
}

// Prefill, "compute friendly": decompress, then multi-head attention.
void decompressed(AttentionOps& out, const LlmSpec& s, AttentionShape a,
                  const Precision& p) {
  const MlaSpec& m = s.mla;
  const double act = bytes_of(p.activations);
  // kv_b_proj: every key's latent to per-head K_nope and V (earlier chunks' too).
  out.push(gemm(OpKind::kKvUpProj, LayerStage::kAttention, a.kv_tokens,
                     a.heads * (m.qk_nope_head_dim + m.v_head_dim), m.kv_lora_rank, p));
  a.kv_heads = a.heads;
  a.head_dim = qk_width(m);
  a.v_head_dim = m.v_head_dim;
  const double q_bytes = d(a.q_tokens) * d(a.heads * a.head_dim) * act;
  const double kv_bytes = d(a.kv_tokens) * d(a.heads * (a.head_dim + a.v_head_dim)) * act;
  const double o_bytes = d(a.q_tokens) * d(a.heads * a.v_head_dim) * act;
  // QK^T over qk_nope + qk_rope, PV over v_head_dim: 2 FLOPs per multiply-add each.
  const double flops = 2.0 * d(a.heads) * d(a.pairs) * d(a.head_dim + a.v_head_dim);
  out.push(attention_op(a, p, flops, q_bytes + kv_bytes, o_bytes));
}

// Decode, "data-movement friendly": W_UK and W_UV absorbed around attention over the latent.
void absorbed(AttentionOps& out, const LlmSpec& s, AttentionShape a,
              const Precision& p) {
  const MlaSpec& m = s.mla;
  const double act = bytes_of(p.activations);
  // q_nope (qk_nope per head) x W_UK (qk_nope x kv_lora per head): queries in the latent space.
  out.push(per_head_gemm(OpKind::kMlaAbsorbQ, a.q_tokens, a.heads, m.kv_lora_rank,
                              m.qk_nope_head_dim, p));
  a.kv_heads = 1;
  a.head_dim = mla_kv_width(m);
  a.v_head_dim = m.kv_lora_rank;
  const double q_bytes = d(a.q_tokens) * d(a.heads * a.head_dim) * act;
  const double kv_bytes = d(a.kv_tokens) * d(a.head_dim) * bytes_of(p.kv_cache);  // read once
  const double o_bytes = d(a.q_tokens) * d(a.heads * a.v_head_dim) * act;
  const double flops = 2.0 * d(a.heads) * d(a.pairs) * d(a.head_dim + a.v_head_dim);
  out.push(attention_op(a, p, flops, q_bytes + kv_bytes, o_bytes));
  // The latent output (kv_lora per head) x W_UV (kv_lora x v_head_dim per head).
  out.push(per_head_gemm(OpKind::kMlaAbsorbOut, a.q_tokens, a.heads, m.v_head_dim,
                              m.kv_lora_rank, p));
}

}  // namespace

void mla_attention(AttentionOps& out, const LlmSpec& s, AttentionShape shape,
                   const Precision& p) {
  if (shape.prefill) {
    decompressed(out, s, shape, p);
  } else {
    absorbed(out, s, shape, p);
  }
}

}  // namespace kvsim
