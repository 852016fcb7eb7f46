#include "sim/scenario/precision_config.hpp"

#include <fmt/format.h>

namespace kvsim {
namespace {

const std::vector<std::string> kMathFormats{"fp32", "fp16", "bf16", "fp8", "int8", "nvfp4",
                                            "mxfp4"};
// Cache formats kvsim models: no engine here stores K and V in 4 bits.
const std::vector<std::string> kCacheFormats{"fp32", "fp16", "bf16", "fp8", "int8"};

DType read(const ConfigNode& n, const std::string& key, DType fallback,
           const std::vector<std::string>& valid) {
  const auto v = n.find(key);
  if (!v) return fallback;
  if (key == "activations" && v->json() == "int4") {
    v->fail("int4 is a weight-only format (AWQ/GPTQ, W4A16): give 16-bit activations (fp16 or "
            "bf16), or nvfp4/mxfp4 weights and activations for 4-bit math (W4A4)");
  }
  return parse_dtype(v->as_one_of(valid));
}

// Refuses pairs no engine kvsim models runs: W4A8 and 4-bit math on other weights.
void check_pair(const ConfigNode& n, GemmFormat f) {
  if (is_fp4(f.activations) && f.weights != f.activations) {
    n.fail(fmt::format("{} activations (W4A4) need {} weights, got {}", to_string(f.activations),
                       to_string(f.activations), to_string(f.weights)));
  }
  const bool narrow_math = f.activations == DType::kFp8 || f.activations == DType::kInt8;
  if ((f.weights == DType::kInt4 || is_fp4(f.weights)) && narrow_math) {
    n.fail(fmt::format("{} weights with {} activations (W4A8) are not modelled: give 16-bit "
                       "activations (W4A16){}",
                       to_string(f.weights), to_string(f.activations),
                       is_fp4(f.weights) ? fmt::format(" or {} (W4A4)", to_string(f.weights))
                                         : ""));
  }
}

GemmFormat read_format(const ConfigNode& n, GemmFormat fallback) {
  GemmFormat f{read(n, "weights", fallback.weights, dtype_names()),
               read(n, "activations", fallback.activations, kMathFormats)};
  check_pair(n, f);
  return f;
}

void read_group(const ConfigNode& n, const std::string& key, GemmFormat base,
                std::optional<GemmFormat>& out) {
  const auto g = n.find(key);
  if (!g) return;
  out = read_format(*g, base);
  g->finish();
}

// Unknown group names are refused by finish(), naming the closest.
void read_groups(const ConfigNode& n, Precision& p, GemmFormat base) {
  read_group(n, "attention", base, p.attention);
  read_group(n, "mlp", base, p.mlp);
  read_group(n, "lm_head", base, p.lm_head);
  n.finish();
}

}  // namespace

Precision read_precision(const ConfigNode& root, DType model_dtype) {
  Precision p{model_dtype, model_dtype, model_dtype};
  const auto n = root.find("precision");
  if (!n) return p;
  const GemmFormat base = read_format(*n, {model_dtype, model_dtype});
  p.weights = base.weights;
  p.activations = base.activations;
  p.kv_cache = read(*n, "kv_cache", model_dtype, kCacheFormats);
  if (is_fp4(base.activations)) {  // the GEMMs multiply in 4 bits; everything else in 16
    p.activations = model_dtype;
    p.attention = base;
    p.mlp = base;
  }
  // 4-bit checkpoints (AWQ, GPTQ, NVFP4, MXFP4) keep the embedding, LM head and norms in 16
  // bits. fp8 stays as kvsim has always priced it, every weight in 8 bits (the engine fits and
  // results/accuracy rest on it), unless per_operation.lm_head says otherwise.
  if (bytes_of(base.weights) < 1) p.lm_head = GemmFormat{model_dtype, model_dtype};
  if (const auto g = n->find("per_operation")) read_groups(*g, p, base);
  n->finish();
  return p;
}

Json to_json(const Precision& p) {
  Json out{{"weights", to_string(p.weights)},
           {"activations", to_string(p.activations)},
           {"kv_cache", to_string(p.kv_cache)}};
  Json groups = Json::object();
  const auto add = [&](const char* key, const std::optional<GemmFormat>& f) {
    if (f) groups[key] = Json{{"weights", to_string(f->weights)},
                              {"activations", to_string(f->activations)}};
  };
  add("attention", p.attention);
  add("mlp", p.mlp);
  add("lm_head", p.lm_head);
  if (!groups.empty()) out["per_operation"] = groups;
  return out;
}

std::string describe_weights(const Precision& p) {
  const DType attention = p.of(GemmGroup::kAttention).weights;
  const DType mlp = p.of(GemmGroup::kMlp).weights;
  const DType lm_head = p.of(GemmGroup::kLmHead).weights;
  if (attention == mlp && mlp == lm_head) return to_string(mlp);
  return fmt::format("attention {}, mlp {}, lm_head {}", to_string(attention), to_string(mlp),
                     to_string(lm_head));
}

std::vector<ParamDoc> precision_docs() {
  return {
      {"weights", "fp32|fp16|bf16|fp8|int8|int4|nvfp4|mxfp4", "the model's dtype",
       "stored weight format; int4 is AWQ/GPTQ (group 128: 133/256 B a weight), nvfp4 9/16 B, "
       "mxfp4 17/32 B; 4-bit formats leave the embedding, LM head and norms in the model's "
       "format"},
      {"activations", "fp32|fp16|bf16|fp8|int8|nvfp4|mxfp4", "the model's dtype",
       "the math; fp8 or fp4 without the GPU's tensor cores for it runs weight-only (W8A16, "
       "W4A16) with a warning; nvfp4/mxfp4 (W4A4) need the same weights and apply to the GEMMs "
       "only; int4 is refused (weight-only)"},
      {"kv_cache", "fp32|fp16|bf16|fp8|int8", "the model's dtype",
       "KV cache format: fp8 halves the KV bytes in memory and in decode attention"},
      {"per_operation", "{attention|mlp|lm_head: {weights, activations}}", "{}",
       "formats of their own for the QKV and output projections, the MLP GEMMs, or the "
       "embedding, LM head and norms (e.g. fp8 MLP with bf16 attention)"},
  };
}

}  // namespace kvsim
