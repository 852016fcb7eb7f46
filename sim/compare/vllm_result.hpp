#pragma once
// Internal to sim/compare: the per-request results of `vllm bench serve --save-result
// --save-detailed` (see measurements.hpp for the fields read).

#include "sim/compare/measurements.hpp"
#include "sim/core/config.hpp"

namespace kvsim::compare {

/// Whether `root` looks like a vLLM benchmark result (it has input_lens and ttfts).
bool is_vllm_result(const ConfigNode& root);

/// Reads it; throws InputError naming the file and the JSON pointer of a bad value.
Measurements read_vllm_result(const ConfigNode& root, const std::string& path);

}  // namespace kvsim::compare
