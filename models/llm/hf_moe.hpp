#pragma once
// The mixture-of-experts part of a Hugging Face config.json, one reader per model_type
// (mixtral, qwen2_moe, qwen3_moe, deepseek_v2, deepseek_v3; DeepSeek's latent attention is
// mla.hpp's). Called by import_hf_config (hf_config.cpp) after the dense part is read; every
// error names the config file and key.

#include <cstdint>
#include <string>
#include <vector>

#include "models/llm/moe.hpp"

namespace kvsim {

/// The MoE model types the importer reads.
const std::vector<std::string>& hf_moe_model_types();
bool is_hf_moe_model_type(const std::string& type);

/// Reads the experts of a config of one of hf_moe_model_types(); `layers` is the model's.
MoeSpec import_hf_moe(const ConfigNode& node, const std::string& type, std::int64_t layers);

}  // namespace kvsim
