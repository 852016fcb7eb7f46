#pragma once
// The launch grid of a fused attention kernel and the work it quantises into waves over a GPU's
// streaming multiprocessors (SMs), for the calibrated model's attention fits.
//
// The kernel is FlashAttention-2's split-KV forward kernel, the one `flash_attn_with_kvcache`
// runs for prefill chunks against a (paged) KV cache and for decode (Dao 2023; flash_api.cpp):
//   thread blocks = batch x heads x ceil(q per request / tile_q) x splits,
//   tile_q = 64 rows; tile_kv = 256 keys for head_dim <= 64, 128 for <= 128, 64 beyond;
//   splits (FlashDecoding): 1 when the grid nearly fills the GPU (>= 0.8 of its CTA slots),
//   else the fewest that reach 85% of the best wave efficiency (blocks x splits / slots over
//   its ceiling), at most 128 and at most the KV tiles;
//   a decode step with grouped-query heads runs the query heads of one KV head as rows of one
//   block (FlashAttention's "seqlenq_ngroups_swapped"): heads = kv_heads, q = heads / kv_heads.
// Each block visits the KV tiles of its split that its causal mask reaches: the diagonal tiles
// of a chunk visit fewer keys than its last tile; under a sliding window (window_size_left) a
// query tile starts at its first row's window, skipping the tiles wholly before it.
// Waves = ceil(blocks / (SMs x CTAs per SM)).
//
// Called by CalibratedModel (prediction) and calibration/fit (features); pure arithmetic.
// Units: counts, and (query tile x key tile) visits; features are in tile visits x head_dim
// (the mean of the key and value widths where they differ: MLA).

#include <array>
#include <cstdint>

#include "models/llm/operations.hpp"

namespace kvsim {

struct AttentionGrid {
  std::int64_t blocks = 0;  // thread blocks launched, splits included
  std::int64_t splits = 1;  // KV splits the heuristic chose
  std::int64_t waves = 0;   // ceil(blocks / slots)
  std::int64_t slots = 0;   // blocks resident at once: SMs x CTAs per SM
  double tile_visits = 0;   // (query tile, key tile) pairs computed, over all blocks
  double masked_visits = 0; // of which on or past a prefill chunk's first key tile (causal mask)
};

using AttentionFeatures = std::array<double, 7>;

/// The grid of a fused attention operation on `sms` SMs holding `ctas_per_sm` blocks each, with
/// FlashAttention-2's choice of KV splits, or `splits` of them when given (> 0).
AttentionGrid attention_grid(const AttentionShape& shape, int sms, int ctas_per_sm,
                             std::int64_t splits = 0);

/// What attention_grid's answer for a decode launch (shape.prefill false) depends on besides the
/// layer's fixed widths (heads, KV heads, head dimensions) and `splits`: the batch, the query
/// rows per request, and the key tiles of the mean and of the longest request. Two decode shapes
/// of one layer with equal keys have equal grids (tests/models/fast_paths_test.cpp), so a caller
/// pricing one layer's decode batch after batch memoises on it
/// (models/compute/fused_decode_attention.hpp): the key repeats where the summed KV does not.
struct DecodeGridKey {
  std::int64_t batch = -1;  // at least 1 (attention_grid's own clamp); -1: no key
  std::int64_t q = 0;
  std::int64_t mean_tiles = 0;
  std::int64_t kv_tiles = 0;
  bool operator==(const DecodeGridKey&) const = default;
};
DecodeGridKey decode_grid_key(const AttentionShape& shape);

/// FlashAttention-2's choice of KV splits for `blocks` blocks, `slots` CTA slots, `kv_tiles`
/// key tiles per request (at most 128 splits).
std::int64_t flash_num_splits(std::int64_t blocks, std::int64_t slots, std::int64_t kv_tiles);

/// The fit's features, in kAttentionGridFeatures order: 1 (launch); waves x a block's mean tile
/// visits x head_dim (the busiest slot's work when blocks are alike); unmasked and masked tile
/// visits x head_dim / slots (the work spread evenly; the causal diagonal's tiles, which mask
/// scores, priced apart: Vidur's A100 chunks cost about three times as much per diagonal tile);
/// bytes moved; 1 when the KV is split (the kernel that combines the splits); blocks / slots (a
/// block's fixed work: loading its queries, writing its output).
AttentionFeatures attention_grid_features(const Operation& op, int sms, int ctas_per_sm,
                                          std::int64_t splits = 0);

}  // namespace kvsim
