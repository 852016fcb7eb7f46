#include "models/compute/attention_grid.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <vector>

namespace kvsim {
namespace {

constexpr std::int64_t kTileQ = 64;       // query rows per block of the split-KV kernel
constexpr std::int64_t kMaxSplits = 128;  // FlashAttention-2 refuses more

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Keys per block's tile: FlashAttention-2's split-KV dispatch by head dimension.
std::int64_t tile_kv(std::int64_t head_dim) {
  if (head_dim <= 64) return 256;
  return head_dim <= 128 ? 128 : 64;
}

// ceil_div(keys, tile_kv(...)) for keys >= 0: the tile is a power of two, so a shift (serving
// asks it every iteration, where a 64-bit division is most of decode_grid_key).
std::int64_t key_tiles(std::int64_t keys, std::int64_t tile) {
  return (keys + tile - 1) >> std::countr_zero(static_cast<std::uint64_t>(tile));
}

// Wave efficiency of `blocks` over `slots`: the fraction of the last wave's slots in use, as
// FlashAttention computes it (in float, so that its ties fall the same way).
float wave_efficiency(std::int64_t blocks, std::int64_t slots) {
  const float waves = static_cast<float>(blocks) / static_cast<float>(slots);
  return waves / std::ceil(waves);
}

// The per-request shape the kernel sees: grouped-query decode folds the query heads of a KV
// head into the rows of one block.
struct KernelShape {
  std::int64_t heads;
  std::int64_t q;        // query rows per request
  std::int64_t kv_mean;  // keys per request, mean over the batch
  std::int64_t kv_max;   // keys of the longest request (sizes the split)
  std::int64_t offset;   // keys before the first query (causal prefill: kv - q)
};

KernelShape kernel_shape(const AttentionShape& a) {
  const std::int64_t batch = std::max<std::int64_t>(1, a.batch);
  const std::int64_t kv_mean = std::max<std::int64_t>(1, ceil_div(a.kv_tokens, batch));
  const std::int64_t kv_max = std::max(kv_mean, a.longest_kv);
  const std::int64_t q = std::max<std::int64_t>(1, ceil_div(a.q_tokens, batch));
  if (!a.prefill && q == 1 && a.kv_heads > 0 && a.heads > a.kv_heads) {
    return {a.kv_heads, a.heads / a.kv_heads, kv_mean, kv_max, kv_mean};
  }
  return {a.heads, q, kv_mean, kv_max, a.prefill ? std::max<std::int64_t>(0, kv_mean - q) : kv_mean};
}

}  // namespace

// The inputs of attention_grid's decode arithmetic: batch (clamped), q (q_tiles), kv_tiles
// (splits, per_split) and mean_tiles (reach and the visits); k.heads follows from q.
DecodeGridKey decode_grid_key(const AttentionShape& a) {
  const KernelShape k = kernel_shape(a);
  const std::int64_t tkv = tile_kv(a.head_dim);
  return {std::max<std::int64_t>(1, a.batch), k.q, key_tiles(k.kv_mean, tkv),
          key_tiles(k.kv_max, tkv)};
}

std::int64_t flash_num_splits(std::int64_t blocks, std::int64_t slots, std::int64_t kv_tiles) {
  if (static_cast<float>(blocks) >= 0.8f * static_cast<float>(slots)) return 1;
  const std::int64_t most = std::min({kMaxSplits, slots, kv_tiles});
  // A split count whose tiles per split equal the previous count's launches that count anyway.
  auto eligible = [&](std::int64_t s) {
    return s == 1 || ceil_div(kv_tiles, s) != ceil_div(kv_tiles, s - 1);
  };
  // Each eligible count's efficiency, computed once for both passes (0: not eligible; an
  // eligible count's efficiency is positive, blocks and slots being at least 1).
  std::array<float, kMaxSplits + 1> efficiency{};
  float best = 0;
  for (std::int64_t s = 1; s <= most; ++s) {
    if (!eligible(s)) continue;
    efficiency[static_cast<std::size_t>(s)] = wave_efficiency(blocks * s, slots);
    best = std::max(best, efficiency[static_cast<std::size_t>(s)]);
  }
  for (std::int64_t s = 1; s <= most; ++s) {
    const float e = efficiency[static_cast<std::size_t>(s)];
    if (e > 0 && e >= 0.85f * best) return s;
  }
  return 1;
}

AttentionGrid attention_grid(const AttentionShape& a, int sms, int ctas_per_sm,
                             std::int64_t splits) {
  const KernelShape k = kernel_shape(a);
  const std::int64_t tkv = tile_kv(a.head_dim);
  const std::int64_t q_tiles = ceil_div(k.q, kTileQ);
  const std::int64_t kv_tiles = ceil_div(k.kv_max, tkv);
  AttentionGrid g;
  // A spec without SMs has no grid to quantise: one slot (never a division by zero).
  g.slots = std::max<std::int64_t>(1, static_cast<std::int64_t>(sms) * ctas_per_sm);
  const std::int64_t unsplit = std::max<std::int64_t>(1, a.batch) * k.heads * q_tiles;
  g.splits = splits > 0 ? splits : flash_num_splits(unsplit, g.slots, kv_tiles);
  g.blocks = unsplit * g.splits;
  g.waves = ceil_div(g.blocks, g.slots);
  // Tile visits of one request and head: each query tile reaches the key tiles its last row
  // sees (all of them in decode), clipped to each split's range.
  const std::int64_t per_split = ceil_div(kv_tiles, g.splits);
  const std::int64_t mean_tiles = ceil_div(k.kv_mean, tkv);
  // Key tiles wholly before a prefill chunk's first query need no mask.
  const std::int64_t unmasked = a.prefill ? k.offset / tkv : mean_tiles;
  auto in_split = [&](std::int64_t begin, std::int64_t end, std::int64_t s) {
    return std::max<std::int64_t>(
        0, std::min(end, (s + 1) * per_split) - std::max(begin, s * per_split));
  };
  // A sliding window (prefill) skips the key tiles wholly before its first row's window, and
  // masks those its last row's window cuts.
  const std::int64_t w = a.prefill ? a.window : 0;
  std::int64_t visits = 0;
  std::int64_t plain = 0;
  for (std::int64_t i = 0; i < q_tiles; ++i) {
    const std::int64_t last_row = std::min((i + 1) * kTileQ, k.q);
    const std::int64_t reach =
        a.prefill ? std::min(mean_tiles, ceil_div(k.offset + last_row, tkv)) : mean_tiles;
    const std::int64_t begin =
        w > 0 ? std::max<std::int64_t>(0, k.offset + i * kTileQ + 1 - w) / tkv : 0;
    const std::int64_t clean =
        w > 0 ? ceil_div(std::max<std::int64_t>(0, k.offset + last_row - w), tkv) : 0;
    for (std::int64_t s = 0; s < g.splits; ++s) {
      visits += in_split(begin, reach, s);
      plain += in_split(clean, std::min(reach, unmasked), s);
    }
  }
  const double per_visit =
      static_cast<double>(std::max<std::int64_t>(1, a.batch)) * static_cast<double>(k.heads);
  g.tile_visits = static_cast<double>(visits) * per_visit;
  g.masked_visits = static_cast<double>(visits - plain) * per_visit;
  return g;
}

AttentionFeatures attention_grid_features(const Operation& op, int sms, int ctas_per_sm,
                                          std::int64_t splits) {
  const AttentionGrid g = attention_grid(op.attention, sms, ctas_per_sm, splits);
  const double hd = op.attention.mean_head_dim();  // MLA: keys and values differ in width
  const auto slots = static_cast<double>(g.slots);
  const double mean_visits = g.tile_visits / static_cast<double>(g.blocks);
  return {1.0,
          static_cast<double>(g.waves) * mean_visits * hd,
          (g.tile_visits - g.masked_visits) * hd / slots,
          g.masked_visits * hd / slots,
          op.bytes(),
          g.splits > 1 ? 1.0 : 0.0,
          static_cast<double>(g.blocks) / slots};
}

}  // namespace kvsim
