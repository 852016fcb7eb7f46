#pragma once
// An LLM's architecture: the numbers that decide its cost and memory. Data, not code: shipped
// specs live in models/catalog/llms/*.json, and a Hugging Face config.json can be imported.

#include <cstdint>
#include <string>

#include "models/llm/dtype.hpp"
#include "models/llm/moe.hpp"
#include "sim/core/config.hpp"

namespace kvsim {

enum class NormKind { kRmsNorm, kLayerNorm };
enum class PositionalKind { kRope, kAlibi, kLearned };

// Multi-head latent attention (DeepSeek-V2/V3; mla.hpp). Each token caches one latent of
// kv_lora_rank plus a decoupled rotary key of qk_rope_head_dim shared by every head, instead of
// per-head K and V. An MLA spec has kv_heads 1 (the latent is one KV head, replicated under
// tensor parallelism) and head_dim = qk_nope_head_dim + qk_rope_head_dim (a query's width).
struct MlaSpec {
  std::int64_t q_lora_rank = 0;  // queries' low-rank bottleneck; 0: projected from the hidden state
  std::int64_t kv_lora_rank = 0;      // the cached latent's width; 0: not MLA
  std::int64_t qk_nope_head_dim = 0;  // per head: query/key dimensions without rotary
  std::int64_t qk_rope_head_dim = 0;  // per head: rotary dimensions (the key's is shared)
  std::int64_t v_head_dim = 0;        // per head: value (and attention output) width
  bool on() const { return kv_lora_rank > 0; }
};

struct LlmSpec {
  std::string name;
  std::string source;  // where the numbers come from
  std::string note;    // what the model leaves out or approximates, if anything
  std::int64_t layers = 0;
  std::int64_t hidden_size = 0;
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;  // == heads for MHA, fewer for GQA, 1 for MQA
  std::int64_t head_dim = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t vocab_size = 0;
  std::int64_t max_context = 0;
  // Keys each query of a windowed layer attends to, itself included (Mistral-7B-v0.1: 4096);
  // 0: full attention everywhere. A windowed layer's attention and KV cache stop growing there.
  std::int64_t sliding_window = 0;
  // Which layers are windowed, as Hugging Face's sliding_window_pattern: 0, every layer
  // (Mistral); N > 0, the last of every N layers attends fully and the others over the window
  // (Gemma-2: 2, alternating; Gemma-3: 6, five local to one global).
  std::int64_t sliding_window_pattern = 0;
  bool gated_mlp = true;            // SwiGLU-style gate+up projection
  bool parallel_attention = false;  // attention and MLP read the same input (Falcon, Phi-2)
  bool tied_embeddings = false;     // LM head shares the embedding matrix
  NormKind norm = NormKind::kRmsNorm;
  PositionalKind positional = PositionalKind::kRope;
  // Dimensions of each head that rotary embedding turns (GPT-J-6B: 64 of 256); 0: all of them.
  std::int64_t rotary_dim = 0;
  DType dtype = DType::kFp16;
  MlaSpec mla;  // multi-head latent attention, when mla.on()

  // --- mixture of experts (moe.hpp); experts == 0 for a dense model
  MoeSpec moe;

  /// Parameters (weights) without biases.
  std::int64_t parameters() const;
  /// Parameters one token's forward pass reads: for a MoE model, only its experts_per_token
  /// routed experts of each MoE layer; parameters() for a dense model.
  std::int64_t active_parameters() const;
  /// Parameters of every routed expert of every MoE layer (0 for a dense model).
  std::int64_t routed_expert_parameters_total() const;
  /// Bytes of weights one GPU holds when tensor parallelism shards the model over `tp` GPUs
  /// and expert parallelism splits the routed experts over `ep` of them (ep divides tp, or tp
  /// is 1): the rest / tp + the routed experts / max(tp, ep), each group in its format
  /// (weight_bytes(Precision)); weight_bytes(p) / tp for a dense model.
  double weight_bytes_per_gpu(const Precision& p, std::int64_t tp, std::int64_t ep) const;
  /// The same with every weight in format `w`.
  double weight_bytes_per_gpu(DType w, std::int64_t tp, std::int64_t ep) const;
  /// K and V bytes for one token across all layers: 2 x layers x kv_heads x head_dim x bytes
  /// (MLA: layers x (kv_lora_rank + qk_rope_head_dim) x bytes).
  double kv_bytes_per_token(DType kv) const;
  /// K and V bytes for one token in one layer.
  double kv_bytes_per_token_layer(DType kv) const;
  /// Layers that attend over the sliding window (0 without one); the rest attend fully.
  std::int64_t windowed_layers() const;
  /// K and V bytes a sequence of `tokens` holds across all layers: a windowed layer keeps its
  /// last sliding_window tokens only (== tokens x kv_bytes_per_token without a window).
  double kv_bytes_for(DType kv, std::int64_t tokens) const;
  /// Bytes of all weights in format `w`.
  double weight_bytes(DType w) const;
  /// Bytes of all weights at a per-group precision: the attention projections in
  /// precision.of(kAttention), the embedding, LM head and norms in of(kLmHead), the rest (the
  /// MLP) in of(kMlp).
  double weight_bytes(const Precision& precision) const;
  /// Parameters of the attention projections (Q, K, V, output) over all layers.
  std::int64_t attention_parameters() const;
  /// Parameters of the embedding, the LM head (unless tied) and every norm.
  std::int64_t unquantised_parameters() const;
  /// Peak live activation bytes per token inside one layer during inference (nothing is kept
  /// across layers but the KV cache): the residual stream and the normalised input, plus the
  /// larger of the attention half (Q, K, V and the attention output) and the MLP half (the up
  /// projection's output and the activation's).
  double activation_bytes_per_token(DType a) const;
};

/// Reads kvsim's own catalog format (every field required except the defaulted booleans,
/// sliding_window, sliding_window_pattern, rotary_dim and mla). Counts are bounded by
/// limits.hpp; unmodelled features are refused by name.
LlmSpec parse_llm_spec(const ConfigNode& node);
/// Imports a Hugging Face config.json (Llama, Mistral, Qwen2/3, Falcon, Phi, Phi-3, InternLM,
/// Gemma, Gemma-2/3, BLOOM, GPT-J, and the mixture-of-experts Mixtral, Qwen2-MoE, Qwen3-MoE and
/// DeepSeek-V2/V3 model types; hf_config.cpp, hf_moe.cpp, mla.cpp). Other MoE types, quantised checkpoints and unknown
/// model types are refused, naming the file and the key.
LlmSpec import_hf_config(const ConfigNode& node, const std::string& name);
/// Refuses (InputError) a token count beyond kvsim's limit (limits.hpp), where the products
/// that size the work would overflow.
void check_tokens(const LlmSpec& spec, std::int64_t tokens);
/// Refuses (InputError) more requests in one step than kvsim's limit.
void check_batch(const LlmSpec& spec, std::int64_t batch);
/// The spec as kvsim's catalog JSON (used for the resolved scenario).
Json to_json(const LlmSpec& spec);

}  // namespace kvsim
