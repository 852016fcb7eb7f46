// The fused attention kernel's launch grid (models/compute/attention_grid.hpp) in closed form:
// blocks, KV splits, waves and tile visits that FlashAttention-2's split-KV kernel launches.
#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "models/compute/attention_grid.hpp"

namespace kvsim {
namespace {

constexpr int kA100Sms = 108;

Operation attention_of(const std::vector<Operation>& ops) {
  for (const auto& op : ops) {
    if (op.kind == OpKind::kAttention) return op;
  }
  throw std::logic_error("no attention");
}

Operation decode(const std::string& model, std::int64_t batch, std::int64_t kv, std::int64_t tp) {
  DecomposeOptions o;
  o.tensor_parallel = tp;
  return attention_of(decode_layer(catalog::llm(model),
                                   std::vector<std::int64_t>(static_cast<std::size_t>(batch), kv),
                                   o));
}

Operation prefill(const std::string& model, std::int64_t q, std::int64_t kv, std::int64_t tp) {
  DecomposeOptions o;
  o.tensor_parallel = tp;
  return attention_of(prefill_layer(catalog::llm(model), {q, kv, Mask::kCausal}, o));
}

}  // namespace

TEST(AttentionGrid, FullGridIsNotSplit) {
  // 512 blocks >= 0.8 x 216 slots: one split, as FlashAttention-2 decides.
  EXPECT_EQ(flash_num_splits(512, 216, 8), 1);
  EXPECT_EQ(flash_num_splits(173, 216, 8), 1);  // 173 >= 172.8
}

TEST(AttentionGrid, SmallDecodeBatchIsSplitOverTheKeys) {
  // Llama-2-7B, one request over 2113 keys, on an A100 with 2 blocks per SM (216 slots):
  // 32 blocks; 17 key tiles of 128. Eligible splits (the tiles per split change): 1 2 3 4 5 6 9
  // 17. Wave efficiency 32s/216 over its ceiling: s=5 0.741, s=6 0.889 (the best; s=17 gives
  // 0.840), so the fewest splits reaching 0.85 x 0.889 = 0.756 is 6: 192 blocks, one wave.
  const AttentionGrid g = attention_grid(decode("llama-2-7b", 1, 2113, 1).attention, kA100Sms, 2);
  EXPECT_EQ(g.splits, 6);
  EXPECT_EQ(g.blocks, 192);
  EXPECT_EQ(g.waves, 1);
  EXPECT_EQ(g.slots, 216);
  // Splits of 3 tiles cover the 17 tiles once: 17 visits per head, 32 heads.
  EXPECT_DOUBLE_EQ(g.tile_visits, 17.0 * 32);
}

TEST(AttentionGrid, DecodeWavesStepWhenBlocksPassTheSlots) {
  // batch 6: 192 blocks, one wave; batch 7: 224 > 216 slots, two waves (the step Vidur's A100
  // decode points show between 6 and 7 requests).
  EXPECT_EQ(attention_grid(decode("llama-2-7b", 6, 2113, 1).attention, kA100Sms, 2).waves, 1);
  EXPECT_EQ(attention_grid(decode("llama-2-7b", 7, 2113, 1).attention, kA100Sms, 2).waves, 2);
}

TEST(AttentionGrid, CausalPrefillVisitsOnlyTheTilesItsMaskReaches) {
  // 1024 new tokens, no cache, 32 heads: 16 query tiles of 64 rows -> 512 blocks, one split,
  // ceil(512 / 216) = 3 waves. Query tile i (0-based) sees keys up to 64 (i + 1): ceil(64 (i+1)
  // / 128) key tiles = 1,1,2,2,...,8,8, which sum to 72 per head; 72 x 32 = 2304.
  const AttentionGrid g = attention_grid(prefill("llama-2-7b", 1024, 1024, 1).attention, kA100Sms, 2);
  EXPECT_EQ(g.splits, 1);
  EXPECT_EQ(g.blocks, 512);
  EXPECT_EQ(g.waves, 3);
  EXPECT_DOUBLE_EQ(g.tile_visits, 72.0 * 32);
  EXPECT_DOUBLE_EQ(g.masked_visits, 72.0 * 32);  // no cache: every tile is on the diagonal
  // With 1024 cached keys before the chunk every tile also sees those 8 tiles, unmasked:
  // 72 + 16 x 8 visits, 72 of them masked.
  const AttentionGrid c = attention_grid(prefill("llama-2-7b", 1024, 2048, 1).attention, kA100Sms, 2);
  EXPECT_DOUBLE_EQ(c.tile_visits, (72.0 + 16 * 8) * 32);
  EXPECT_DOUBLE_EQ(c.masked_visits, 72.0 * 32);
}

TEST(AttentionGrid, TensorParallelShardHasFewerBlocksAndIsSplit) {
  // TP8 shard of Llama-2-7B: 4 heads x 16 query tiles = 64 blocks < 172.8, 8 key tiles.
  // Eligible splits 1 2 3 4 8; efficiency 0.296 0.593 0.889 0.593 0.790: 3 splits (>= 0.756),
  // 192 blocks in one wave, where the 32-head chunk needs 3 waves.
  const AttentionGrid g = attention_grid(prefill("llama-2-7b", 1024, 1024, 8).attention, kA100Sms, 2);
  EXPECT_EQ(g.splits, 3);
  EXPECT_EQ(g.blocks, 192);
  EXPECT_EQ(g.waves, 1);
  // The same visits per head as unsplit (a split only divides each tile range): 72 x 4.
  EXPECT_DOUBLE_EQ(g.tile_visits, 72.0 * 4);
}

TEST(AttentionGrid, HeadCountEntersOnlyThroughTheBlocks) {
  // b requests on 32 heads launch the blocks of 4b requests on 8 heads: the same features.
  Operation shard = decode("llama-2-7b", 5, 2113, 1);
  shard.attention.heads = shard.attention.kv_heads = 8;
  shard.attention.batch = 20;
  shard.attention.q_tokens = 20;
  shard.attention.kv_tokens *= 4;
  EXPECT_EQ(attention_grid_features(shard, kA100Sms, 2),
            attention_grid_features(decode("llama-2-7b", 5, 2113, 1), kA100Sms, 2));
}

TEST(AttentionGrid, GroupedQueryDecodeFoldsQueryHeadsIntoRows) {
  // Llama-2-70B: 64 query heads over 8 KV heads. A decode step of 16 requests launches one
  // block per (request, KV head), its 8 query heads as rows: 128 blocks < 172.8, so it is split.
  const AttentionGrid g = attention_grid(decode("llama-2-70b", 16, 4096, 1).attention, kA100Sms, 2);
  EXPECT_EQ(g.blocks % 128, 0);
  EXPECT_GT(g.splits, 1);
  EXPECT_EQ(g.blocks, 128 * g.splits);
}

}  // namespace kvsim
