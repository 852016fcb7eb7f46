// Serving's KV memory with sliding-window layers: a windowed layer holds its window's blocks
// only, so a long sequence holds fewer full-attention token equivalents (hand-computed).
#include <deque>

#include <gtest/gtest.h>

#include "sim/serving/memory.hpp"

namespace kvsim::serving {
namespace {

std::unique_ptr<KvMemory> make(const std::string& json, const KvBudget& b) {
  static std::deque<ConfigDocument> docs;  // nodes refer into their document
  docs.push_back(ConfigDocument::parse(json, "memory.json"));
  return kv_memories().create(docs.back().root(), b);
}

KvBudget budget(std::int64_t window, double share) {
  KvBudget b;
  b.hbm_bytes = 100000;  // one byte a token: 100,000 tokens at utilisation 1
  b.kv_bytes_per_token = 1;
  b.max_context = 32768;
  b.window = window;
  b.windowed_share = share;
  return b;
}

Sequence sequence(std::int64_t prompt, std::int64_t output) {
  Sequence s;
  s.request.prompt = prompt;
  s.request.output = output;
  return s;
}

}  // namespace

TEST(WindowMemory, PagedHoldsTheWindowsBlocksInWindowedLayers) {
  // Gemma-2: half the layers windowed at 4096, blocks of 16. 8192 cached tokens: the global
  // half holds 8192, the local half the window's 256 blocks and the one it is leaving (4112):
  // 0.5 x 8192 + 0.5 x 4112 = 6152 token equivalents.
  auto m = make(R"({"type": "paged", "utilization": 1, "watermark": 0})", budget(4096, 0.5));
  Sequence s = sequence(8192, 100);
  ASSERT_TRUE(m->admit(s, 8192));
  EXPECT_EQ(s.held, 6152);
  EXPECT_EQ(m->held(), 6152);
  // Within the window nothing changes: 1000 tokens are 1008 in blocks, all held.
  Sequence short_one = sequence(1000, 1);
  ASSERT_TRUE(m->admit(short_one, 1000));
  EXPECT_EQ(short_one.held, 1008);
  // At its longest, 8192 + 100 - 1 = 8291 tokens (8304 in blocks): 0.5 x 8304 + 0.5 x 4112.
  EXPECT_EQ(m->peak_tokens(s.request), 6208);
  // Without a window the same sequence holds all its blocks.
  auto full = make(R"({"type": "paged", "utilization": 1, "watermark": 0})", budget(0, 0));
  Sequence t = sequence(8192, 100);
  ASSERT_TRUE(full->admit(t, 8192));
  EXPECT_EQ(t.held, 8192);
}

TEST(WindowMemory, ContiguousReservesTheWindowInWindowedLayers) {
  // Every layer windowed (Mistral) at 4096: a 10,000-token reservation holds 4096.
  auto m = make(R"({"type": "contiguous", "utilization": 1, "max_sequence": 10000})",
                budget(4096, 1.0));
  Sequence s = sequence(8000, 100);
  ASSERT_TRUE(m->admit(s, 8000));
  EXPECT_EQ(s.held, 4096);
  EXPECT_TRUE(m->grow(s, 9000));  // within the reservation
}

}  // namespace kvsim::serving
