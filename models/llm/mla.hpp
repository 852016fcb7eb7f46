#pragma once
// Multi-head latent attention (DeepSeek-V2, arXiv 2405.04434; DeepSeek-V3): what it stores, what
// it weighs, and the kernels it runs. Called by llm_spec.cpp (parameters, KV bytes, the catalog
// format), hf_config.cpp (the deepseek_v2/v3 keys) and operations.cpp (a layer's operations).
//
// Per token and layer the KV cache holds one latent c_KV (kv_lora_rank) and one rotary key
// k_pe (qk_rope_head_dim) shared by every head: (kv_lora_rank + qk_rope_head_dim) elements
// (DeepSeek-V3: 512 + 64 = 576). The kernels are priced as vLLM's MLA backend runs them
// (vllm/v1/attention/backends/mla/common.py):
// - prefill, "compute friendly": kv_b_proj up-projects the latent of every key of the chunk
//   (earlier chunks' cached latents too) to per-head K_nope and V, then ordinary multi-head
//   attention with query/key width qk_nope + qk_rope and value width v_head_dim;
// - decode, "data-movement friendly" (FlashMLA): W_UK is absorbed into the query (q_nope x W_UK,
//   a batched GEMM per head into the latent space), attention runs as multi-query attention
//   over the cached latent (keys kv_lora_rank + qk_rope_head_dim wide, values the first
//   kv_lora_rank of the same vector, read once), and W_UV is applied to the latent output
//   before o_proj.
// Under tensor parallelism the query heads are split and the latent (one KV head) is
// replicated, as vLLM does. Units: FLOPs and bytes per call on one GPU.

#include <cstdint>
#include <vector>

#include "models/llm/llm_spec.hpp"
#include "models/llm/operations.hpp"
#include "sim/core/config.hpp"

namespace kvsim {

/// Elements cached per token and layer: kv_lora_rank + qk_rope_head_dim.
std::int64_t mla_kv_width(const MlaSpec& mla);
/// Attention weights of one layer (q_a/q_b or q, kv_a, kv_b, o and the two latent norms).
std::int64_t mla_attention_parameters(const LlmSpec& spec);
/// Peak attention-half activation elements per token: Q, K and V decompressed, the output, and
/// the latent.
std::int64_t mla_attention_activations(const LlmSpec& spec);

/// Reads the catalog's "mla" object into spec.mla and checks the spec's kv_heads (1) and
/// head_dim (qk_nope + qk_rope) against it, failing at the key that disagrees.
void parse_mla(const ConfigNode& mla, const ConfigNode& spec_node, LlmSpec& spec);
/// The catalog's "mla" object.
Json mla_to_json(const MlaSpec& mla);
/// Reads a Hugging Face DeepSeek-V2/V3 config's MLA keys into spec.mla and sets kv_heads 1 and
/// head_dim; for hf_config.cpp's deepseek importers.
void import_hf_mla(const ConfigNode& node, LlmSpec& spec);

/// Refuses (at the key) any of the four MLA keys present at the top level of `node`, where they
/// would otherwise be ignored; `hint` says where kvsim reads them.
void refuse_mla_keys(const ConfigNode& node, const std::string& hint);

/// The pre-attention operations after the input norm: the latent projections, their norms, the
/// query up-projection and rotary, for `tokens` rows and `heads` query heads on this GPU.
void mla_pre_attention(std::vector<Operation>& out, const LlmSpec& spec, std::int64_t heads,
                       std::int64_t tokens, const Precision& p);
/// The attention stage: prefill (shape.prefill) decompresses and runs multi-head attention,
/// decode absorbs W_UK and W_UV around multi-query attention over the latent. `shape` carries
/// the counts (batch, tokens, pairs, heads on this GPU); head widths are set here.
void mla_attention(AttentionOps& out, const LlmSpec& spec, AttentionShape shape,
                   const Precision& p);

}  // namespace kvsim
