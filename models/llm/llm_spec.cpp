#include "models/llm/llm_spec.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kvsim {
namespace {

DType read_dtype(const ConfigNode& node) {
  const std::string name = node.as_string();
  try {
    return parse_dtype(name);
  } catch (const std::invalid_argument&) {
    node.fail(fmt::format("unknown data type '{}'; {}", name,
                          valid_values_hint(name, dtype_names())));
  }
}

// The first of several alternative keys present in a Hugging Face config.
std::optional<ConfigNode> first_of(const ConfigNode& node, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (node.has(k)) return node.at(k);
  }
  return std::nullopt;
}

std::int64_t required_int(const ConfigNode& node, std::initializer_list<const char*> keys) {
  const auto v = first_of(node, keys);
  if (!v) {
    node.fail(fmt::format("Hugging Face config lacks {}", fmt::join(keys, " / ")));
  }
  const std::int64_t x = v->as_integer();
  if (x < 1) v->fail(fmt::format("must be at least 1, got {}", x));
  return x;
}

}  // namespace

std::int64_t LlmSpec::parameters() const {
  const std::int64_t q_width = heads * head_dim;
  const std::int64_t kv_width = kv_heads * head_dim;
  const std::int64_t attention = hidden_size * (q_width + 2 * kv_width) + q_width * hidden_size;
  const std::int64_t mlp = (gated_mlp ? 3 : 2) * hidden_size * intermediate_size;
  const std::int64_t norm_params = norm == NormKind::kLayerNorm ? 2 * hidden_size : hidden_size;
  const std::int64_t norms = (parallel_attention ? 1 : 2) * norm_params;
  const std::int64_t embedding = vocab_size * hidden_size;
  return layers * (attention + mlp + norms) + embedding * (tied_embeddings ? 1 : 2) + norm_params;
}

double LlmSpec::kv_bytes_per_token_layer(DType kv) const {
  return 2.0 * static_cast<double>(kv_heads * head_dim) * bytes_of(kv);
}

double LlmSpec::kv_bytes_per_token(DType kv) const {
  return static_cast<double>(layers) * kv_bytes_per_token_layer(kv);
}

double LlmSpec::weight_bytes(DType w) const {
  return static_cast<double>(parameters()) * bytes_of(w);
}

double LlmSpec::activation_bytes_per_token(DType a) const {
  const std::int64_t attention = (heads + 2 * kv_heads) * head_dim + heads * head_dim;
  const std::int64_t mlp = (gated_mlp ? 2 : 1) * intermediate_size + intermediate_size;
  return static_cast<double>(2 * hidden_size + std::max(attention, mlp)) * bytes_of(a);
}

LlmSpec parse_llm_spec(const ConfigNode& node) {
  LlmSpec s;
  s.name = node.string("name");
  s.source = node.string("source");
  s.note = node.string_or("note", "");
  s.layers = node.count("layers");
  s.hidden_size = node.count("hidden_size");
  s.heads = node.count("heads");
  s.kv_heads = node.count("kv_heads");
  s.head_dim = node.count("head_dim");
  s.intermediate_size = node.count("intermediate_size");
  s.vocab_size = node.count("vocab_size");
  s.max_context = node.count("max_context");
  s.gated_mlp = node.boolean_or("gated_mlp", true);
  s.parallel_attention = node.boolean_or("parallel_attention", false);
  s.tied_embeddings = node.boolean_or("tied_embeddings", false);
  s.norm = node.one_of_or("norm", "rmsnorm", {"rmsnorm", "layernorm"}) == "rmsnorm"
               ? NormKind::kRmsNorm
               : NormKind::kLayerNorm;
  const std::string pos = node.one_of_or("positional", "rope", {"rope", "alibi", "learned"});
  s.positional = pos == "rope"    ? PositionalKind::kRope
                 : pos == "alibi" ? PositionalKind::kAlibi
                                  : PositionalKind::kLearned;
  s.dtype = node.has("dtype") ? read_dtype(node.at("dtype")) : DType::kFp16;
  if (s.heads % s.kv_heads != 0) {
    node.at("kv_heads").fail(fmt::format("heads ({}) must be a multiple of kv_heads ({})",
                                         s.heads, s.kv_heads));
  }
  node.finish();
  return s;
}

LlmSpec import_hf_config(const ConfigNode& node, const std::string& name) {
  static const std::vector<std::string> kGated{"llama", "mistral", "qwen2", "internlm",
                                               "internlm2", "mixtral", "gemma", "codellama"};
  static const std::vector<std::string> kPlain{"falcon", "RefinedWeb", "RefinedWebModel", "phi"};
  std::vector<std::string> supported = kGated;
  supported.insert(supported.end(), kPlain.begin(), kPlain.end());
  const std::string type = node.at("model_type").as_one_of(supported);
  const bool falcon = type == "falcon" || type.rfind("RefinedWeb", 0) == 0;

  LlmSpec s;
  s.name = name;
  s.source = fmt::format("imported from a Hugging Face config.json (model_type {})", type);
  s.layers = required_int(node, {"num_hidden_layers", "n_layer", "num_layers"});
  s.hidden_size = required_int(node, {"hidden_size", "n_embd", "d_model"});
  s.heads = required_int(node, {"num_attention_heads", "n_head"});
  s.kv_heads = s.heads;
  if (auto kv = first_of(node, {"num_key_value_heads", "num_kv_heads", "n_head_kv"})) {
    if (!kv->json().is_null()) s.kv_heads = kv->as_integer();
  } else if (falcon && node.boolean_or("multi_query", true) &&
             !node.boolean_or("new_decoder_architecture", false)) {
    s.kv_heads = 1;  // Falcon-7B: multi-query attention, one KV head
  }
  s.head_dim = node.has("head_dim") ? node.count("head_dim") : s.hidden_size / s.heads;
  if (auto inter = first_of(node, {"intermediate_size", "n_inner", "ffn_hidden_size"});
      inter && !inter->json().is_null()) {
    s.intermediate_size = inter->as_integer();
  } else if (falcon) {
    s.intermediate_size = 4 * s.hidden_size;  // Falcon's MLP is 4x hidden
  } else {
    node.fail("Hugging Face config lacks intermediate_size");
  }
  s.vocab_size = required_int(node, {"vocab_size"});
  if (auto ctx = first_of(node, {"max_position_embeddings", "max_seq_len", "n_positions",
                                 "seq_length"})) {
    s.max_context = ctx->as_integer();
  } else if (falcon) {
    s.max_context = 2048;  // Falcon-7B/40B were trained at 2048 and their configs omit it
  } else {
    node.fail("Hugging Face config lacks max_position_embeddings");
  }
  s.gated_mlp = std::find(kGated.begin(), kGated.end(), type) != kGated.end();
  s.parallel_attention = falcon ? node.boolean_or("parallel_attn", true) : type == "phi";
  s.tied_embeddings = node.boolean_or("tie_word_embeddings", falcon);
  s.norm = s.gated_mlp ? NormKind::kRmsNorm : NormKind::kLayerNorm;
  s.positional = falcon && node.boolean_or("alibi", false) ? PositionalKind::kAlibi
                                                           : PositionalKind::kRope;
  const std::string torch_dtype = node.string_or("torch_dtype", "float16");
  s.dtype = torch_dtype == "bfloat16" ? DType::kBf16
            : torch_dtype == "float32" ? DType::kFp32
                                       : DType::kFp16;
  if (s.kv_heads < 1 || s.heads % s.kv_heads != 0) {
    node.fail(fmt::format("attention heads ({}) must be a multiple of KV heads ({})", s.heads,
                          s.kv_heads));
  }
  return s;  // other Hugging Face keys are irrelevant to cost and are ignored on purpose
}

Json to_json(const LlmSpec& s) {
  Json j{{"name", s.name},
              {"source", s.source},
              {"layers", s.layers},
              {"hidden_size", s.hidden_size},
              {"heads", s.heads},
              {"kv_heads", s.kv_heads},
              {"head_dim", s.head_dim},
              {"intermediate_size", s.intermediate_size},
              {"vocab_size", s.vocab_size},
              {"max_context", s.max_context},
              {"gated_mlp", s.gated_mlp},
              {"parallel_attention", s.parallel_attention},
              {"tied_embeddings", s.tied_embeddings},
              {"norm", s.norm == NormKind::kRmsNorm ? "rmsnorm" : "layernorm"},
              {"positional", s.positional == PositionalKind::kRope    ? "rope"
                             : s.positional == PositionalKind::kAlibi ? "alibi"
                                                                      : "learned"},
              {"dtype", to_string(s.dtype)}};
  if (!s.note.empty()) j["note"] = s.note;
  return j;
}

}  // namespace kvsim
