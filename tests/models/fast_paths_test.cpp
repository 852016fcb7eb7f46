// The exact fast paths issue 20's last CPU goals added, each against the computation it replaces:
//   - decode attention from the batch's totals (models/llm/decode_totals.hpp) equals
//     decode_attention walking every KV length, operation by operation, field by field;
//   - FlashAttention-2's split choice computing each wave efficiency once equals the two-pass
//     search it replaced (kept here as the reference);
//   - a device profile's points read from the JSON directly equal those read through a ConfigNode
//     per value, and a malformed point still fails with its own JSON pointer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "models/catalog/catalog.hpp"
#include "models/compute/attention_grid.hpp"
#include "models/compute/calibrated.hpp"
#include "models/llm/decode_totals.hpp"
#include "sim/core/input_error.hpp"

namespace kvsim {
namespace {

void expect_same(const Operation& a, const Operation& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.op_class, b.op_class);
  EXPECT_EQ(a.stage, b.stage);
  EXPECT_EQ(a.dtype, b.dtype);
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_EQ(a.flops, b.flops);  // exact: the same integers through the same arithmetic
  EXPECT_EQ(a.bytes_read, b.bytes_read);
  EXPECT_EQ(a.bytes_written, b.bytes_written);
  EXPECT_EQ(a.weight_bytes, b.weight_bytes);
  EXPECT_EQ(a.layer_share, b.layer_share);
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.gemm.m, b.gemm.m);
  EXPECT_EQ(a.gemm.n, b.gemm.n);
  EXPECT_EQ(a.gemm.k, b.gemm.k);
  EXPECT_EQ(a.groups, b.groups);
  const AttentionShape& x = a.attention;
  const AttentionShape& y = b.attention;
  EXPECT_EQ(x.batch, y.batch);
  EXPECT_EQ(x.q_tokens, y.q_tokens);
  EXPECT_EQ(x.kv_tokens, y.kv_tokens);
  EXPECT_EQ(x.pairs, y.pairs);
  EXPECT_EQ(x.heads, y.heads);
  EXPECT_EQ(x.kv_heads, y.kv_heads);
  EXPECT_EQ(x.head_dim, y.head_dim);
  EXPECT_EQ(x.v_head_dim, y.v_head_dim);
  EXPECT_EQ(x.prefill, y.prefill);
  EXPECT_EQ(x.window, y.window);
  EXPECT_EQ(x.longest_kv, y.longest_kv);
}

// FlashAttention-2's split choice as it was written before issue 20's last pass: wave
// efficiencies computed in both passes.
std::int64_t two_pass_splits(std::int64_t blocks, std::int64_t slots, std::int64_t kv_tiles) {
  if (static_cast<float>(blocks) >= 0.8f * static_cast<float>(slots)) return 1;
  const std::int64_t most = std::min({std::int64_t{128}, slots, kv_tiles});
  const auto ceil_div = [](std::int64_t a, std::int64_t b) { return (a + b - 1) / b; };
  auto eligible = [&](std::int64_t s) {
    return s == 1 || ceil_div(kv_tiles, s) != ceil_div(kv_tiles, s - 1);
  };
  auto efficiency = [&](std::int64_t s) {
    const float waves = static_cast<float>(blocks * s) / static_cast<float>(slots);
    return waves / std::ceil(waves);
  };
  float best = 0;
  for (std::int64_t s = 1; s <= most; ++s) {
    if (eligible(s)) best = std::max(best, efficiency(s));
  }
  for (std::int64_t s = 1; s <= most; ++s) {
    if (eligible(s) && efficiency(s) >= 0.85f * best) return s;
  }
  return 1;
}

}  // namespace

TEST(FastPaths, DecodeAttentionFromTotalsEqualsTheWalkOnRandomBatches) {
  std::mt19937_64 rng(20);
  struct Case {
    const char* model;
    std::int64_t tp;
    AttentionImpl attention;
  };
  // Dense MHA, grouped-query under TP, latent attention (MLA), eager attention (three
  // operations), and a windowed model read eagerly (eager attention sees no window).
  const std::vector<Case> cases{{"llama-2-7b", 1, AttentionImpl::kFused},
                                {"llama-2-70b", 4, AttentionImpl::kFused},
                                {"deepseek-v3", 1, AttentionImpl::kFused},
                                {"llama-2-7b", 2, AttentionImpl::kEager},
                                {"mistral-7b", 1, AttentionImpl::kEager}};
  for (const Case& c : cases) {
    const LlmSpec spec = catalog::llm(c.model);
    DecomposeOptions o;
    o.tensor_parallel = c.tp;
    o.attention = c.attention;
    ASSERT_FALSE(decode_attention_windowed(spec, o)) << c.model;
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<std::int64_t> lengths(1 + rng() % 256);
      for (auto& l : lengths) l = 1 + static_cast<std::int64_t>(rng() % 4096);
      DecodeTotals t{static_cast<std::int64_t>(lengths.size()), 0, 0};
      for (const std::int64_t l : lengths) t.kv += l;
      t.most = *std::max_element(lengths.begin(), lengths.end());
      const AttentionOps walked = decode_attention(spec, lengths, o);
      const AttentionOps totals = decode_attention(spec, t, o);
      ASSERT_EQ(walked.count, totals.count) << c.model;
      for (std::size_t i = 0; i < walked.count; ++i) expect_same(walked.ops[i], totals.ops[i]);
    }
  }
}

TEST(FastPaths, DecodeAttentionFromTotalsRefusesAWindowAndKeepsTheChecks) {
  const LlmSpec mistral = catalog::llm("mistral-7b");
  EXPECT_TRUE(decode_attention_windowed(mistral, DecomposeOptions{}));
  EXPECT_THROW((void)decode_attention(mistral, DecodeTotals{2, 10, 5}, DecomposeOptions{}),
               std::logic_error);
  const LlmSpec llama = catalog::llm("llama-2-7b");
  EXPECT_THROW((void)decode_attention(llama, DecodeTotals{0, 0, 0}, DecomposeOptions{}),
               std::invalid_argument);
  // A length past the model's token bound is refused as the walk refuses it.
  const std::int64_t huge = std::int64_t{1} << 55;
  const std::vector<std::int64_t> lengths{huge};
  EXPECT_THROW((void)decode_attention(llama, lengths, DecomposeOptions{}), std::exception);
  EXPECT_THROW((void)decode_attention(llama, DecodeTotals{1, huge, huge}, DecomposeOptions{}),
               std::exception);
}

TEST(FastPaths, SplitChoiceEqualsTheTwoPassSearchOnEveryShape) {
  // Every block count up to past the early exit, A100 (108 SMs) and H100 (132) slot counts at
  // 1-4 blocks per SM, and key tiles past the 128-split cap.
  for (const std::int64_t slots : {108, 132, 216, 264, 324, 432, 528}) {
    for (std::int64_t blocks = 1; blocks <= slots; ++blocks) {
      for (std::int64_t kv_tiles = 1; kv_tiles <= 140; ++kv_tiles) {
        ASSERT_EQ(flash_num_splits(blocks, slots, kv_tiles),
                  two_pass_splits(blocks, slots, kv_tiles))
            << blocks << " blocks, " << slots << " slots, " << kv_tiles << " tiles";
      }
    }
  }
}

TEST(FastPaths, ProfilePointsReadDirectlyEqualThoseReadPerValue) {
  const ConfigDocument doc = catalog::profile_document("a100-sxm4-80gb");
  const DeviceProfile p = DeviceProfile::from_json(doc.root());
  // The reference: every point read through a ConfigNode per value, as before issue 20's last
  // pass, then matched to the loaded table by its key.
  std::size_t compared = 0;
  const Json loaded = p.to_json()["tables"];
  for (const ConfigNode& t : doc.root().at("tables").elements()) {
    std::vector<MeasuredPoint> expected;
    for (const ConfigNode& pt : t.at("points").elements()) {
      const auto pair = pt.elements();
      expected.push_back({pair[0].as_integer(), pair[1].as_number()});
    }
    std::sort(expected.begin(), expected.end(),
              [](const MeasuredPoint& a, const MeasuredPoint& b) { return a.m < b.m; });
    const char* key = t.json().contains("gemm") ? "gemm" : "elementwise";
    const auto match = std::find_if(loaded.begin(), loaded.end(), [&](const Json& l) {
      return l.contains(key) && l[key] == t.json()[key];
    });
    ASSERT_NE(match, loaded.end());
    const Json& points = (*match)["points"];
    ASSERT_EQ(points.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(points[i][0].get<std::int64_t>(), expected[i].m);
      EXPECT_EQ(points[i][1].get<double>(), expected[i].seconds);
      ++compared;
    }
  }
  EXPECT_GT(compared, 20000U);  // the shipped A100 profile has 24,542 points
}

TEST(FastPaths, ProfilePointsOffTheFastPathKeepTheirCheckedMeaningAndErrors) {
  const ConfigDocument shipped = catalog::profile_document("a100-sxm4-80gb");
  Json j = shipped.json();
  Json& points = j["tables"][0]["points"];
  // An integral float is a token count to the checked path: still read, as 4.
  points[0] = Json::array({4.0, 1e-5});
  const DeviceProfile p = DeviceProfile::from_json(ConfigDocument(j, "p.json").root());
  bool found = false;
  for (const auto& [key, pts] : p.tables) {
    for (const MeasuredPoint& m : pts) found = found || (m.m == 4 && m.seconds == 1e-5);
  }
  EXPECT_TRUE(found);
  // A malformed point fails naming its own place, as the per-value reading did.
  const auto error_at = [&](const Json& bad, std::size_t index) -> std::string {
    Json k = shipped.json();
    k["tables"][0]["points"][index] = bad;
    try {
      (void)DeviceProfile::from_json(ConfigDocument(k, "p.json").root());
    } catch (const InputError& e) {
      return e.pointer();
    }
    return "no error";
  };
  EXPECT_EQ(error_at(Json::array({1, "x"}), 1), "/tables/0/points/1/1");
  EXPECT_EQ(error_at(Json::array({1.5, 1e-5}), 2), "/tables/0/points/2/0");
  EXPECT_EQ(error_at(Json::array({1}), 3), "/tables/0/points/3");
  EXPECT_EQ(error_at(Json(7), 4), "/tables/0/points/4");
}

}  // namespace kvsim
