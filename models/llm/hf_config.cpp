// Imports a Hugging Face config.json as an LlmSpec. Every error names the config file and the
// key; architectures and features kvsim does not model are refused by name (unmodelled.hpp).

#include <algorithm>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/llm/hf_moe.hpp"
#include "models/llm/limits.hpp"
#include "models/llm/llm_spec.hpp"
#include "models/llm/mla.hpp"
#include "models/llm/unmodelled.hpp"

namespace kvsim {
namespace {

const std::vector<std::string> kGated{"llama",  "mistral", "qwen2",       "qwen3",
                                      "internlm", "internlm2", "gemma",    "gemma2",
                                      "gemma3", "gemma3_text", "phi3",     "codellama"};
const std::vector<std::string> kPlain{"falcon", "RefinedWeb", "RefinedWebModel", "phi", "bloom",
                                      "gptj"};

// Model types that look like ones kvsim imports but cost differently, with the reason.
constexpr std::pair<std::string_view, std::string_view> kUnmodelledTypes[] = {
    {"phimoe", "mixture of experts"},
    {"olmoe", "mixture of experts"},
    {"granitemoe", "mixture of experts"},
    {"dbrx", "mixture of experts"},
    {"jamba", "mixture of experts and state-space layers"},
};

std::string read_model_type(const ConfigNode& node) {
  std::vector<std::string> supported = kGated;
  supported.insert(supported.end(), kPlain.begin(), kPlain.end());
  supported.insert(supported.end(), hf_moe_model_types().begin(), hf_moe_model_types().end());
  const ConfigNode t = node.at("model_type");
  const std::string type = t.as_string();
  for (const auto& [name, why] : kUnmodelledTypes) {
    if (type == name) {
      t.fail(fmt::format("model_type '{}' has {}, which kvsim does not model yet; it imports {}",
                         type, why, fmt::join(supported, ", ")));
    }
  }
  if (std::find(supported.begin(), supported.end(), type) == supported.end()) {
    t.fail(fmt::format("kvsim does not import model_type '{}' (an architecture it does not know "
                       "may cost differently); {}",
                       type, valid_values_hint(type, supported)));
  }
  return type;
}

// The first of several alternative keys present in a Hugging Face config.
std::optional<ConfigNode> first_of(const ConfigNode& node, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (node.has(k)) return node.at(k);
  }
  return std::nullopt;
}

// A count in [1, max]; `max` is one of kvsim's limits (limits.hpp).
std::int64_t bounded(const ConfigNode& v, std::int64_t max) {
  const std::int64_t x = v.as_integer();
  if (x < 1 || x > max) {
    v.fail(fmt::format("must be between 1 and {} (kvsim's limit), got {}", max, x));
  }
  return x;
}

std::int64_t required(const ConfigNode& node, std::initializer_list<const char*> keys,
                      std::int64_t max) {
  const auto v = first_of(node, keys);
  if (!v) node.fail(fmt::format("Hugging Face config lacks {}", fmt::join(keys, " / ")));
  return bounded(*v, max);
}

// The attention window in tokens, or 0 when attention is full: "sliding_window" null, switched
// off ("use_sliding_window": false, as Qwen2 configs have), or no shorter than the context.
std::int64_t sliding_window(const ConfigNode& node, std::int64_t max_context) {
  const auto w = node.find("sliding_window");
  const bool on = node.boolean_or("use_sliding_window", true);
  if (!w || w->json().is_null() || !on) return 0;
  const std::int64_t window = bounded(*w, limits::kTokens);
  return window >= max_context ? 0 : window;
}

DType read_torch_dtype(const ConfigNode& node) {
  const auto t = first_of(node, {"torch_dtype", "dtype"});
  if (!t) return DType::kFp16;
  const std::string name = t->as_one_of({"float16", "bfloat16", "float32"});
  return name == "bfloat16" ? DType::kBf16 : name == "float32" ? DType::kFp32 : DType::kFp16;
}

// Heads, KV heads and head width, each checked against the others at the key that sets it.
void read_attention(const ConfigNode& node, bool falcon, LlmSpec& s) {
  const auto heads = first_of(node, {"num_attention_heads", "n_head"});
  if (!heads) node.fail("Hugging Face config lacks num_attention_heads / n_head");
  s.heads = bounded(*heads, limits::kHeads);
  s.kv_heads = s.heads;
  const auto kv = first_of(node, {"num_key_value_heads", "num_kv_heads", "n_head_kv"});
  if (kv && !kv->json().is_null()) {
    s.kv_heads = bounded(*kv, limits::kHeads);
  } else if (falcon && node.boolean_or("multi_query", true) &&
             !node.boolean_or("new_decoder_architecture", false)) {
    s.kv_heads = 1;  // Falcon-7B: multi-query attention, one KV head
  }
  if (s.heads % s.kv_heads != 0) {
    (kv ? *kv : *heads).fail(fmt::format("the attention heads ({}) must be a multiple of the KV "
                                         "heads ({})", s.heads, s.kv_heads));
  }
  if (const auto d = node.find("head_dim"); d && !d->json().is_null()) {
    s.head_dim = bounded(*d, limits::kWidth);
  } else if (s.hidden_size % s.heads != 0) {
    heads->fail(fmt::format("hidden size {} is not a multiple of the {} attention heads, and "
                            "no head_dim says how wide a head is", s.hidden_size, s.heads));
  } else {
    s.head_dim = s.hidden_size / s.heads;
  }
  if (s.heads * s.head_dim > limits::kWidth) {
    heads->fail(fmt::format("{} heads of {} make a width beyond kvsim's limit of {}", s.heads,
                            s.head_dim, limits::kWidth));
  }
}

// What a model type's configuration class assumes for keys its config.json may leave out;
// 0 / false: the key is required.
struct Defaults {
  bool mlp_four_times_hidden = false;
  std::int64_t vocab = 0;
  std::int64_t max_context = 0;
};

Defaults defaults_of(const std::string& type) {
  // Falcon-7B/40B and BLOOM were trained at 2048 tokens, and their configs omit it (BLOOM's
  // ALiBi has no position table); their MLP, and GPT-J's ("n_inner": null), is 4 x hidden.
  if (type == "falcon" || type.starts_with("RefinedWeb") || type == "bloom") {
    return {true, 0, 2048};
  }
  if (type == "gptj") return {true, 0, 0};
  // Gemma3TextConfig's defaults (transformers, models/gemma3/configuration_gemma3.py): the
  // published Gemma-3 configs leave both out of their text_config.
  if (type == "gemma3_text") return {false, 262208, 131072};
  return {};
}

void read_sizes(const ConfigNode& node, const Defaults& d, LlmSpec& s) {
  if (auto inter = first_of(node, {"intermediate_size", "n_inner", "ffn_hidden_size"});
      inter && !inter->json().is_null()) {
    s.intermediate_size = bounded(*inter, limits::kWidth);
  } else if (d.mlp_four_times_hidden) {
    s.intermediate_size = 4 * s.hidden_size;
  } else {
    node.fail("Hugging Face config lacks intermediate_size");
  }
  if (node.has("vocab_size") || d.vocab == 0) {
    s.vocab_size = required(node, {"vocab_size"}, limits::kVocab);
  } else {
    s.vocab_size = d.vocab;
  }
  if (auto ctx = first_of(node, {"max_position_embeddings", "max_seq_len", "n_positions",
                                 "seq_length"})) {
    s.max_context = bounded(*ctx, limits::kTokens);
  } else if (d.max_context > 0) {
    s.max_context = d.max_context;
  } else {
    node.fail("Hugging Face config lacks max_position_embeddings");
  }
}

// Newer configs list each layer's attention ("layer_types"). kvsim models a window on every
// layer, or on all but the last of every N layers (Gemma-2/3); another mix is refused.
void read_layer_types(const ConfigNode& node, LlmSpec& s) {
  const auto types = node.find("layer_types");
  if (!types || types->json().is_null()) return;
  std::vector<bool> full;
  for (const ConfigNode& t : types->elements()) {
    full.push_back(t.as_one_of({"full_attention", "sliding_attention"}) == "full_attention");
  }
  if (static_cast<std::int64_t>(full.size()) != s.layers) {
    types->fail(fmt::format("lists {} layers, but the model has {}", full.size(), s.layers));
  }
  // All full attention, or a window no shorter than the context: no window.
  if (std::find(full.begin(), full.end(), false) == full.end() || s.sliding_window == 0) {
    s.sliding_window = 0;
    return;
  }
  const auto first_full = std::find(full.begin(), full.end(), true);
  if (first_full == full.end()) return;  // every layer windowed (pattern 0)
  const auto n = static_cast<std::int64_t>(first_full - full.begin()) + 1;
  for (std::int64_t i = 0; i < s.layers; ++i) {
    if (full[static_cast<std::size_t>(i)] != ((i + 1) % n == 0)) {
      types->fail(fmt::format(
          "layer {} breaks the pattern of one full-attention layer in every {}; kvsim models a "
          "sliding window on every layer or on all but the last of every N", i, n));
    }
  }
  s.sliding_window_pattern = n;
}

// The keys every supported model type shares; the per-type functions below adjust the rest.
LlmSpec import_common(const ConfigNode& node, const std::string& type, const std::string& name) {
  const bool falcon = type == "falcon" || type.starts_with("RefinedWeb");
  LlmSpec s;
  s.name = name;
  s.source = fmt::format("imported from a Hugging Face config.json (model_type {})", type);
  s.layers = required(node, {"num_hidden_layers", "n_layer", "num_layers"}, limits::kLayers);
  s.hidden_size = required(node, {"hidden_size", "n_embd", "n_embed", "d_model"}, limits::kWidth);
  read_attention(node, falcon, s);
  read_sizes(node, defaults_of(type), s);
  s.sliding_window = sliding_window(node, s.max_context);
  s.gated_mlp = std::find(kGated.begin(), kGated.end(), type) != kGated.end() ||
                is_hf_moe_model_type(type);
  s.parallel_attention = falcon ? node.boolean_or("parallel_attn", true) : type == "phi";
  // Gemma's config omits the key; its class ties by default, as Falcon's does.
  s.tied_embeddings = node.boolean_or("tie_word_embeddings", falcon || type == "gemma");
  s.norm = s.gated_mlp ? NormKind::kRmsNorm : NormKind::kLayerNorm;
  s.positional = falcon && node.boolean_or("alibi", false) ? PositionalKind::kAlibi
                                                           : PositionalKind::kRope;
  s.dtype = read_torch_dtype(node);
  if (is_hf_moe_model_type(type)) s.moe = import_hf_moe(node, type, s.layers);
  read_layer_types(node, s);
  return s;  // other Hugging Face keys are irrelevant to cost and are ignored on purpose
}

// --- one function per model type added for issue 17 (dense models and attention variants)

// Qwen3 (Qwen3-8B/32B): Qwen2's layout with an explicit head_dim and RMSNorm on each head's
// query and key (q_norm, k_norm: 2 x head_dim weights a layer, an elementwise kernel kvsim
// does not price); sliding_window is off ("use_sliding_window": false) in the published configs.
void import_qwen3(LlmSpec& s) {
  s.note = "per-head query/key RMSNorm (q_norm, k_norm) not priced: 2 x head_dim weights and one "
           "elementwise kernel a layer";
}

// Gemma-2: local (sliding_window) and global layers alternate, the first local (Gemma2's
// is_sliding = not layer_idx % 2, the pattern 2 below). GeGLU MLP, tied embeddings.
void import_gemma2(const ConfigNode& node, LlmSpec& s) {
  s.tied_embeddings = node.boolean_or("tie_word_embeddings", true);
  if (s.sliding_window > 0 && !node.has("layer_types")) s.sliding_window_pattern = 2;
  s.note = "four RMSNorms a layer (kvsim counts two: 2 x hidden weights a layer short); logit "
           "soft-capping and query_pre_attn_scalar are inside the attention kernel, not priced";
}

// Gemma-3's text model (model_type gemma3_text; a gemma3 config nests it as text_config):
// five local layers (sliding_window, 1024 in the published configs) to one global, unless the
// config says otherwise (sliding_window_pattern, or layer_types in newer configs).
void import_gemma3_text(const ConfigNode& node, LlmSpec& s) {
  s.tied_embeddings = node.boolean_or("tie_word_embeddings", true);
  if (s.sliding_window > 0 && !node.has("layer_types")) {
    s.sliding_window_pattern = node.has("sliding_window_pattern")
                                   ? bounded(node.at("sliding_window_pattern"), s.layers)
                                   : 6;
  }
  s.note = "four RMSNorms a layer and per-head query/key norms (not counted); the vision "
           "encoder of a gemma3 checkpoint is not modelled (text only)";
}

LlmSpec import_gemma3(const ConfigNode& node, const std::string& name) {
  if (!node.has("text_config")) {
    node.fail("a gemma3 config nests its language model as \"text_config\", which is missing");
  }
  const ConfigNode text = node.at("text_config");
  if (!text.json().is_object()) text.fail("\"text_config\" is an object");
  refuse_unmodelled_features(text);
  if (text.has("model_type")) (void)text.at("model_type").as_one_of({"gemma3_text"});
  LlmSpec s = import_common(text, "gemma3_text", name);
  // The dtype sits beside text_config in the published configs.
  if (!text.has("torch_dtype") && !text.has("dtype")) s.dtype = read_torch_dtype(node);
  import_gemma3_text(text, s);
  s.source = "imported from a Hugging Face config.json (model_type gemma3, its text_config)";
  return s;
}

// Phi-3 (Phi-3-mini): Llama's layout with fused qkv_proj and gate_up_proj (same shapes and
// FLOPs); Phi-3-mini-4k's config sets a 2047-token sliding window on every layer.
void import_phi3(LlmSpec& s) {
  s.note = "fused qkv_proj and gate_up_proj, priced as kvsim's fused projections";
}

// BLOOM: ALiBi instead of rotary (a per-head linear bias added to the attention scores inside
// the fused kernel, or as the additive mask eager attention reads anyway: no operation of its
// own), LayerNorm, GELU MLP of 4 x hidden, tied embeddings, and a LayerNorm after the embedding.
void import_bloom(const ConfigNode& node, LlmSpec& s) {
  s.positional = PositionalKind::kAlibi;
  s.tied_embeddings = node.boolean_or("tie_word_embeddings", true);
  s.note = "ALiBi's bias is added inside the attention kernel (no operation of its own); the "
           "embedding LayerNorm (2 x hidden weights) and the biases are not counted; trained at "
           "2048 tokens (its config has no context length)";
}

// GPT-J: attention and MLP in parallel from one LayerNorm, rotary on the first rotary_dim of
// each head (64 of 256 in GPT-J-6B), GELU MLP of 4 x hidden ("n_inner": null), untied head.
void import_gptj(const ConfigNode& node, LlmSpec& s) {
  s.parallel_attention = true;
  s.tied_embeddings = node.boolean_or("tie_word_embeddings", false);
  if (const auto r = node.find("rotary_dim"); r && !r->json().is_null()) {
    s.rotary_dim = bounded(*r, s.head_dim);
  }
}

// Falcon's newer decoder (Falcon-40B/180B: new_decoder_architecture): grouped-query attention
// with num_kv_heads, attention and MLP in parallel, each with its own LayerNorm (ln_attn,
// ln_mlp; kvsim counts one). The older one (Falcon-7B) is multi-query with one LayerNorm.
void import_falcon(const ConfigNode& node, LlmSpec& s) {
  if (node.boolean_or("new_decoder_architecture", false)) {
    s.note = "new decoder architecture: two LayerNorms a layer (kvsim counts one: 2 x hidden "
             "weights a layer short)";
  }
}

void import_type(const ConfigNode& node, const std::string& type, LlmSpec& s) {
  if (type == "qwen3") import_qwen3(s);
  if (type == "gemma2") import_gemma2(node, s);
  if (type == "gemma3_text") import_gemma3_text(node, s);
  if (type == "phi3") import_phi3(s);
  if (type == "bloom") import_bloom(node, s);
  if (type == "gptj") import_gptj(node, s);
  if (type == "falcon" || type.starts_with("RefinedWeb")) import_falcon(node, s);
  if (type == "deepseek_v2" || type == "deepseek_v3") import_hf_mla(node, s);  // experts: hf_moe
}

}  // namespace

LlmSpec import_hf_config(const ConfigNode& node, const std::string& name) {
  if (!node.json().is_object()) node.fail("a Hugging Face config.json is a JSON object");
  // The MoE model types read their experts' keys themselves (hf_moe.cpp).
  const Json& declared = node.json().value("model_type", Json());
  refuse_unmodelled_features(node, declared.is_string() &&
                                       is_hf_moe_model_type(declared.get<std::string>()));
  const std::string type = read_model_type(node);
  LlmSpec s = type == "gemma3" ? import_gemma3(node, name) : import_common(node, type, name);
  import_type(node, type, s);
  if (!s.mla.on()) {
    refuse_mla_keys(node, fmt::format("kvsim reads them for model types deepseek_v2 and "
                                      "deepseek_v3, not '{}'", type));
  }
  return s;
}

}  // namespace kvsim
