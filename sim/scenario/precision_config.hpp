#pragma once
// A scenario's "precision" section, read once at load (load_scenario) before the GPU resolves
// it (precision_on_gpu.hpp):
//   {"weights": F, "activations": F, "kv_cache": F,
//    "per_operation": {"attention" | "mlp" | "lm_head": {"weights": F, "activations": F}}}
// Formats default to the model's own. 4-bit weights (int4, nvfp4, mxfp4) apply to the
// transformer blocks' GEMMs; the embedding, LM head and norms stay in the model's format unless
// "lm_head" says otherwise (AWQ, GPTQ and NVFP4 checkpoints leave them unquantised). fp8 weights
// apply to every weight, as kvsim priced them before per-operation precision existed. 4-bit floating-point
// activations (W4A4) are the GEMMs' inputs: attention and the elementwise kernels stay in the
// model's 16-bit format. Combinations kvsim does not model are refused (InputError at the key).

#include <string>
#include <vector>

#include "models/llm/dtype.hpp"
#include "sim/core/config.hpp"
#include "sim/core/registry.hpp"

namespace kvsim {

Precision read_precision(const ConfigNode& root, DType model_dtype);
/// The precision as a scenario section (loadable again).
Json to_json(const Precision& precision);
/// The weight formats in a few words: "fp8", or per group when they differ ("attention
/// nvfp4, mlp nvfp4, lm_head bf16").
std::string describe_weights(const Precision& precision);
/// The section's keys, for `kvsim explain precision`.
std::vector<ParamDoc> precision_docs();

}  // namespace kvsim
