#include "models/llm/spec_docs.hpp"

#include "sim/core/doc_family.hpp"

namespace kvsim {
namespace {

std::vector<ParamDoc> spec_fields() {
  return {
      {"name", "string", "", "the model's name (its catalog file's stem)"},
      {"source", "string", "", "where the numbers come from (the config.json or paper)"},
      {"note", "string", "\"\"", "what the spec leaves out or approximates"},
      {"layers", "count", "", "transformer layers"},
      {"hidden_size", "count", "", "width of the residual stream"},
      {"heads", "count", "", "query heads"},
      {"kv_heads", "count", "", "key/value heads (== heads: MHA; fewer: GQA; 1: MQA and MLA)"},
      {"head_dim", "count", "", "query/key width per head (MLA: qk_nope + qk_rope)"},
      {"intermediate_size", "count", "", "MLP width"},
      {"vocab_size", "count", "", "vocabulary (embedding and LM head rows)"},
      {"max_context", "count", "", "trained context in tokens (longer runs warn)"},
      {"gated_mlp", "bool", "true", "SwiGLU/GeGLU gate and up projections"},
      {"parallel_attention", "bool", "false", "attention and MLP read the same input"},
      {"tied_embeddings", "bool", "false", "LM head shares the embedding matrix"},
      {"norm", "rmsnorm|layernorm", "rmsnorm", "normalisation"},
      {"positional", "rope|alibi|learned", "rope",
       "positions; ALiBi's bias is added inside the attention kernel (no operation of its own)"},
      {"dtype", "fp32|fp16|bf16|...", "fp16", "the checkpoint's format (default precision)"},
      // Issue 17: attention variants.
      {"sliding_window", "count", "0 (full attention)",
       "keys each query of a windowed layer sees, itself included (Mistral-7B-v0.1: 4096); "
       "its attention work and KV cache stop growing there"},
      {"sliding_window_pattern", "count >= 2", "0 (every layer windowed)",
       "the last of every N layers attends fully, the others over the window (Gemma-2: 2, "
       "Gemma-3: 6), as Hugging Face's sliding_window_pattern"},
      {"rotary_dim", "count <= head_dim", "head_dim",
       "dimensions of each head rotary embedding turns (GPT-J-6B: 64 of 256)"},
      {"mla", "object", "absent (no latent attention)",
       "multi-head latent attention (DeepSeek-V2/V3): see `kvsim explain mla`"},
      {"moe", "object", "absent (a dense model)",
       "mixture of experts (Mixtral, DeepSeek, Qwen3-MoE): see `kvsim explain moe`"},
  };
}

std::vector<ParamDoc> mla_fields() {
  return {
      {"q_lora_rank", "count >= 0", "0 (none)",
       "queries' low-rank bottleneck (DeepSeek-V3: 1536); 0 or null: queries projected from "
       "the hidden state"},
      {"kv_lora_rank", "count", "", "the cached latent's width per token and layer (512)"},
      {"qk_nope_head_dim", "count", "", "per head: query/key dimensions without rotary (128)"},
      {"qk_rope_head_dim", "count", "",
       "per head: rotary dimensions; the key's is one shared vector, cached beside the latent "
       "(64)"},
      {"v_head_dim", "count", "", "per head: value and attention output width (128)"},
  };
}

// models/llm/moe.cpp, parse_moe.
std::vector<ParamDoc> moe_fields() {
  return {
      {"experts", "count >= 2", "", "routed experts per MoE layer (Mixtral: 8)"},
      {"experts_per_token", "count", "", "routed experts each token goes to (top-k; Mixtral: 2)"},
      {"expert_intermediate_size", "count", "", "MLP width of one routed expert"},
      {"shared_experts", "count >= 0", "0", "experts every token goes to (DeepSeek: 1)"},
      {"shared_expert_intermediate_size", "count", "",
       "MLP width of one shared expert (needed when shared_experts > 0)"},
      {"first_dense_layers", "count >= 0", "0",
       "leading layers with a dense MLP (DeepSeek-V3: 3, first_k_dense_replace)"},
      {"layer_step", "count", "1",
       "after those, every layer_step-th layer is MoE, the others dense (Qwen's "
       "decoder_sparse_step)"},
  };
}

}  // namespace

const RegistryView& model_spec_docs() {
  static const DocFamily docs(
      "model", "a model spec (models/catalog/llms/*.json, {\"file\": ...} or an inline \"model\")",
      {{"spec", "a model spec's fields (kvsim's catalog format)", spec_fields()},
       {"mla",
        "latent attention's widths: KV bytes per token and layer are (kv_lora_rank + "
        "qk_rope_head_dim) x bytes; prefill decompresses K and V (kv_b_proj), decode absorbs "
        "W_UK and W_UV around multi-query attention over the latent (vLLM's MLA backend); needs "
        "kv_heads 1 and head_dim qk_nope + qk_rope",
        mla_fields()},
       {"moe",
        "mixture of experts: each MoE layer's MLP is a router and routed experts, of which each "
        "token uses experts_per_token, plus shared experts every token uses (models/llm/moe.cpp)",
        moe_fields()}});
  return docs;
}

}  // namespace kvsim
