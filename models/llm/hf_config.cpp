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
#include "models/llm/unmodelled.hpp"

namespace kvsim {
namespace {

const std::vector<std::string> kGated{"llama", "mistral", "qwen2", "internlm", "internlm2",
                                      "gemma", "codellama"};
const std::vector<std::string> kPlain{"falcon", "RefinedWeb", "RefinedWebModel", "phi"};

// Model types that look like ones kvsim imports but cost differently, with the reason.
constexpr std::pair<std::string_view, std::string_view> kUnmodelledTypes[] = {
    {"phimoe", "mixture of experts"},
    {"olmoe", "mixture of experts"},
    {"granitemoe", "mixture of experts"},
    {"dbrx", "mixture of experts"},
    {"jamba", "mixture of experts and state-space layers"},
    {"deepseek_v2", "mixture of experts and multi-head latent attention"},
    {"deepseek_v3", "mixture of experts and multi-head latent attention"},
    {"gemma2", "alternating sliding-window layers"},
    {"gemma3", "alternating sliding-window layers"},
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

void read_sizes(const ConfigNode& node, bool falcon, LlmSpec& s) {
  if (auto inter = first_of(node, {"intermediate_size", "n_inner", "ffn_hidden_size"});
      inter && !inter->json().is_null()) {
    s.intermediate_size = bounded(*inter, limits::kWidth);
  } else if (falcon) {
    s.intermediate_size = 4 * s.hidden_size;  // Falcon's MLP is 4x hidden
  } else {
    node.fail("Hugging Face config lacks intermediate_size");
  }
  s.vocab_size = required(node, {"vocab_size"}, limits::kVocab);
  if (auto ctx = first_of(node, {"max_position_embeddings", "max_seq_len", "n_positions",
                                 "seq_length"})) {
    s.max_context = bounded(*ctx, limits::kTokens);
  } else if (falcon) {
    s.max_context = 2048;  // Falcon-7B/40B were trained at 2048 and their configs omit it
  } else {
    node.fail("Hugging Face config lacks max_position_embeddings");
  }
}

}  // namespace

LlmSpec import_hf_config(const ConfigNode& node, const std::string& name) {
  if (!node.json().is_object()) node.fail("a Hugging Face config.json is a JSON object");
  // The MoE model types read their experts' keys themselves (hf_moe.cpp).
  const Json& declared = node.json().value("model_type", Json());
  refuse_unmodelled_features(node, declared.is_string() &&
                                       is_hf_moe_model_type(declared.get<std::string>()));
  const std::string type = read_model_type(node);
  const bool falcon = type == "falcon" || type.starts_with("RefinedWeb");

  LlmSpec s;
  s.name = name;
  s.source = fmt::format("imported from a Hugging Face config.json (model_type {})", type);
  s.layers = required(node, {"num_hidden_layers", "n_layer", "num_layers"}, limits::kLayers);
  s.hidden_size = required(node, {"hidden_size", "n_embd", "d_model"}, limits::kWidth);
  read_attention(node, falcon, s);
  read_sizes(node, falcon, s);
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
  return s;  // other Hugging Face keys are irrelevant to cost and are ignored on purpose
}

}  // namespace kvsim
