#include "sim/prefill/layer_plan.hpp"

#include <algorithm>

namespace kvsim::prefill {

bool windowed_layer(const LlmSpec& m, std::int64_t layer) {
  if (m.sliding_window == 0) return false;
  // Hugging Face's sliding_window_pattern N: the last of every N layers attends fully.
  return m.sliding_window_pattern == 0 || (layer + 1) % m.sliding_window_pattern != 0;
}

LayerPlan layer_plan(const LlmSpec& m) {
  const bool moe_mix = m.moe.enabled() && m.moe.moe_layers(m.layers) < m.layers;
  const bool window_mix = m.windowed_layers() > 0 && m.windowed_layers() < m.layers;
  LayerPlan plan;
  if (!moe_mix && !window_mix) {
    plan.kinds.push_back(m);
    plan.of_layer.assign(static_cast<std::size_t>(m.layers), 0);
    return plan;
  }
  // Kind index: 2 x (MoE) + (full attention), before dropping the kinds no layer has.
  std::vector<int> key(static_cast<std::size_t>(m.layers));
  for (std::int64_t i = 0; i < m.layers; ++i) {
    key[static_cast<std::size_t>(i)] = 2 * (m.moe.is_moe_layer(i) ? 1 : 0) +
                                       (windowed_layer(m, i) ? 0 : 1);
  }
  std::vector<int> index(4, -1);
  for (int k = 0; k < 4; ++k) {
    if (std::find(key.begin(), key.end(), k) == key.end()) continue;
    LlmSpec kind = m;
    if (k / 2 == 0) {
      kind.moe = MoeSpec{};  // a dense layer: the dense MLP of intermediate_size
    } else {
      kind.moe.first_dense_layers = 0;
      kind.moe.layer_step = 1;
    }
    if (k % 2 == 0) {
      kind.sliding_window_pattern = 0;  // every layer windowed (0 windows: unchanged)
    } else {
      kind.sliding_window = 0;
      kind.sliding_window_pattern = 0;
    }
    index[static_cast<std::size_t>(k)] = static_cast<int>(plan.kinds.size());
    plan.kinds.push_back(std::move(kind));
  }
  for (const int k : key) plan.of_layer.push_back(index[static_cast<std::size_t>(k)]);
  return plan;
}

}  // namespace kvsim::prefill
