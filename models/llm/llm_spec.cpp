#include "models/llm/llm_spec.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/llm/limits.hpp"
#include "models/llm/mla.hpp"
#include "models/llm/unmodelled.hpp"

namespace kvsim {
namespace {

DType read_dtype(const ConfigNode& node) {
  const std::string name = node.as_string();
  try {
    const DType t = parse_dtype(name);
    // Sub-byte formats are a deployment's choice with their own scales, not a model's.
    if (bytes_of(t) < 1) {
      node.fail(fmt::format("{} is a quantised format, not a model's dtype: give the model's own "
                            "(fp16, bf16) and {} in the scenario's \"precision\"",
                            name, name));
    }
    return t;
  } catch (const std::invalid_argument&) {
    node.fail(fmt::format("unknown data type '{}'; {}", name,
                          valid_values_hint(name, dtype_names())));
  }
}

// A count in [1, max]; `max` is one of kvsim's limits (limits.hpp).
std::int64_t bounded(const ConfigNode& node, const std::string& key, std::int64_t max) {
  const std::int64_t x = node.count(key);
  if (x > max) {
    node.at(key).fail(fmt::format("must be at most {} (kvsim's limit), got {}", max, x));
  }
  return x;
}

}  // namespace

namespace {

// Weights without biases; `active`: only the routed experts one token reads.
std::int64_t count_parameters(const LlmSpec& s, bool active) {
  const std::int64_t q_width = s.heads * s.head_dim;
  const std::int64_t kv_width = s.kv_heads * s.head_dim;
  const std::int64_t h = s.hidden_size;
  const std::int64_t attention =
      s.mla.on() ? mla_attention_parameters(s) : h * (q_width + 2 * kv_width) + q_width * h;
  const std::int64_t dense_mlp = (s.gated_mlp ? 3 : 2) * h * s.intermediate_size;
  const std::int64_t norm_params = s.norm == NormKind::kLayerNorm ? 2 * h : h;
  const std::int64_t norms = (s.parallel_attention ? 1 : 2) * norm_params;
  const std::int64_t embedding = s.vocab_size * h;
  const std::int64_t moe_layers = s.moe.moe_layers(s.layers);
  const std::int64_t moe_mlp = !s.moe.enabled() ? 0
                               : active ? moe_layer_active_parameters(s.moe, h, s.gated_mlp)
                                        : moe_layer_parameters(s.moe, h, s.gated_mlp);
  return s.layers * (attention + norms) + (s.layers - moe_layers) * dense_mlp +
         moe_layers * moe_mlp + embedding * (s.tied_embeddings ? 1 : 2) + norm_params;
}

}  // namespace

std::int64_t LlmSpec::parameters() const { return count_parameters(*this, false); }

std::int64_t LlmSpec::active_parameters() const { return count_parameters(*this, true); }

std::int64_t LlmSpec::routed_expert_parameters_total() const {
  if (!moe.enabled()) return 0;
  return moe.moe_layers(layers) * routed_expert_parameters(moe, hidden_size, gated_mlp);
}

double LlmSpec::weight_bytes_per_gpu(const Precision& p, std::int64_t tp, std::int64_t ep) const {
  // The routed experts are MLP weights (for_operation maps them to the MLP group).
  const double routed = static_cast<double>(routed_expert_parameters_total()) *
                        bytes_of(p.of(GemmGroup::kMlp).weights);
  const double rest = weight_bytes(p) - routed;
  return rest / static_cast<double>(tp) + routed / static_cast<double>(std::max(tp, ep));
}

double LlmSpec::weight_bytes_per_gpu(DType w, std::int64_t tp, std::int64_t ep) const {
  return weight_bytes_per_gpu(Precision(w, w, w), tp, ep);
}

double LlmSpec::kv_bytes_per_token_layer(DType kv) const {
  if (mla.on()) return static_cast<double>(mla_kv_width(mla)) * bytes_of(kv);  // one latent
  return 2.0 * static_cast<double>(kv_heads * head_dim) * bytes_of(kv);
}

double LlmSpec::kv_bytes_per_token(DType kv) const {
  return static_cast<double>(layers) * kv_bytes_per_token_layer(kv);
}

std::int64_t LlmSpec::windowed_layers() const {
  if (sliding_window == 0) return 0;
  return sliding_window_pattern == 0 ? layers : layers - layers / sliding_window_pattern;
}

double LlmSpec::kv_bytes_for(DType kv, std::int64_t tokens) const {
  const std::int64_t windowed = windowed_layers();
  const std::int64_t layer_tokens =
      (layers - windowed) * tokens + windowed * std::min(tokens, sliding_window);
  return static_cast<double>(layer_tokens) * kv_bytes_per_token_layer(kv);
}

double LlmSpec::weight_bytes(DType w) const {
  return static_cast<double>(parameters()) * bytes_of(w);
}

// Per-operation precision (dtype.hpp): the MLP is what is neither attention projections nor
// the unquantised embedding, LM head and norms.
std::int64_t LlmSpec::attention_parameters() const {
  if (mla.on()) return layers * mla_attention_parameters(*this);  // latent projections (mla.hpp)
  const std::int64_t q_width = heads * head_dim;
  return layers * (hidden_size * (q_width + 2 * kv_heads * head_dim) + q_width * hidden_size);
}

std::int64_t LlmSpec::unquantised_parameters() const {
  const std::int64_t norm_params = norm == NormKind::kLayerNorm ? 2 * hidden_size : hidden_size;
  const std::int64_t norms = layers * (parallel_attention ? 1 : 2) * norm_params + norm_params;
  return vocab_size * hidden_size * (tied_embeddings ? 1 : 2) + norms;
}

double LlmSpec::weight_bytes(const Precision& p) const {
  const std::int64_t attention = attention_parameters();
  const std::int64_t unquantised = unquantised_parameters();
  const std::int64_t mlp = parameters() - attention - unquantised;
  return static_cast<double>(attention) * bytes_of(p.of(GemmGroup::kAttention).weights) +
         static_cast<double>(mlp) * bytes_of(p.of(GemmGroup::kMlp).weights) +
         static_cast<double>(unquantised) * bytes_of(p.of(GemmGroup::kLmHead).weights);
}

double LlmSpec::activation_bytes_per_token(DType a) const {
  const std::int64_t attention = mla.on() ? mla_attention_activations(*this)
                                           : (heads + 2 * kv_heads) * head_dim + heads * head_dim;
  // The dense MLP's, unless every layer is a MoE layer (Mixtral's intermediate_size is its
  // experts' width; Qwen3-MoE's belongs to no layer).
  const bool dense_layers = moe.moe_layers(layers) < layers;
  const std::int64_t mlp =
      dense_layers ? (gated_mlp ? 2 : 1) * intermediate_size + intermediate_size : 0;
  // A MoE layer holds each token's k routed copies' up and activation outputs, and the shared
  // experts' (the router's logits are narrow beside them).
  const std::int64_t routed = moe.experts_per_token * moe.expert_intermediate;
  const std::int64_t shared = moe.shared_experts * moe.shared_intermediate;
  const std::int64_t moe_mlp = ((gated_mlp ? 2 : 1) + 1) * (routed + shared);
  return static_cast<double>(2 * hidden_size + std::max({attention, mlp, moe_mlp})) *
         bytes_of(a);
}

LlmSpec parse_llm_spec(const ConfigNode& node) {
  if (!node.json().is_object()) node.fail("a model spec is a JSON object");
  refuse_unmodelled_features(node);
  refuse_mla_keys(node, "give latent attention's widths in the spec's \"mla\" object");
  LlmSpec s;
  s.name = node.string("name");
  s.source = node.string("source");
  s.note = node.string_or("note", "");
  s.layers = bounded(node, "layers", limits::kLayers);
  s.hidden_size = bounded(node, "hidden_size", limits::kWidth);
  s.heads = bounded(node, "heads", limits::kHeads);
  s.kv_heads = bounded(node, "kv_heads", limits::kHeads);
  s.head_dim = bounded(node, "head_dim", limits::kWidth);
  s.intermediate_size = bounded(node, "intermediate_size", limits::kWidth);
  s.vocab_size = bounded(node, "vocab_size", limits::kVocab);
  s.max_context = bounded(node, "max_context", limits::kTokens);
  if (node.has("sliding_window")) {
    s.sliding_window = bounded(node, "sliding_window", limits::kTokens);
  }
  if (node.has("sliding_window_pattern")) {
    s.sliding_window_pattern = node.count("sliding_window_pattern", 2);
    if (s.sliding_window == 0) {
      node.at("sliding_window_pattern").fail("a layer pattern needs a \"sliding_window\"");
    }
    if (s.sliding_window_pattern > s.layers) {
      node.at("sliding_window_pattern").fail(fmt::format(
          "every {}th layer attends fully, but the model has {} layers (give 0 or leave it out "
          "for every layer windowed)", s.sliding_window_pattern, s.layers));
    }
  }
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
  if (node.has("moe")) s.moe = parse_moe(node.at("moe"), s.layers);
  if (node.has("rotary_dim")) {
    s.rotary_dim = bounded(node, "rotary_dim", s.head_dim);
    if (s.positional != PositionalKind::kRope) {
      node.at("rotary_dim").fail("a rotary width needs \"positional\": \"rope\"");
    }
  }
  if (const auto mla = node.find("mla")) parse_mla(*mla, node, s);
  if (s.heads % s.kv_heads != 0) {
    node.at("kv_heads").fail(fmt::format("heads ({}) must be a multiple of kv_heads ({})",
                                         s.heads, s.kv_heads));
  }
  if (s.heads * s.head_dim > limits::kWidth) {
    node.at("head_dim").fail(fmt::format("{} heads of {} make a width beyond kvsim's limit of {}",
                                         s.heads, s.head_dim, limits::kWidth));
  }
  node.finish();
  return s;
}

void check_tokens(const LlmSpec& spec, std::int64_t tokens) {
  if (tokens > limits::kTokens) {
    throw InputError(fmt::format("model {}", spec.name), "",
                     fmt::format("a sequence of {} tokens is beyond kvsim's limit of {} tokens",
                                 tokens, limits::kTokens));
  }
}

void check_batch(const LlmSpec& spec, std::int64_t batch) {
  if (batch > limits::kBatch) {
    throw InputError(fmt::format("model {}", spec.name), "",
                     fmt::format("a batch of {} requests is beyond kvsim's limit of {}", batch,
                                 limits::kBatch));
  }
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
  if (s.sliding_window > 0) j["sliding_window"] = s.sliding_window;
  if (s.sliding_window_pattern > 0) j["sliding_window_pattern"] = s.sliding_window_pattern;
  if (s.rotary_dim > 0) j["rotary_dim"] = s.rotary_dim;
  if (s.mla.on()) j["mla"] = mla_to_json(s.mla);
  if (!s.note.empty()) j["note"] = s.note;
  if (s.moe.enabled()) j["moe"] = to_json(s.moe);
  return j;
}

}  // namespace kvsim
