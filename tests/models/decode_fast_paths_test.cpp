// The exact fast paths of a decode batch's attention in the compiled cost (issue 20, the 1M-request
// goal), each against the computation it replaces:
//   - the operation patched from a template (models/compiled/decode_attention_template.hpp)
//     equals decode_attention's, field by field, on random batches, and keeps its checks;
//   - the launch grid depends on a decode shape only through decode_grid_key
//     (models/compute/attention_grid.hpp), the premise of the pricer's memo;
//   - the memoising pricer (models/compute/fused_decode_attention.hpp) equals
//     CalibratedModel::cost bit for bit on random batches, memo hits and collisions included,
//     for every shipped profile, and is offered for exactly the operations the decode fit prices.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "models/catalog/catalog.hpp"
#include "models/compiled/decode_attention_template.hpp"
#include "models/compute/attention_grid.hpp"
#include "models/compute/calibrated.hpp"

namespace kvsim {
namespace {

struct Model {
  const char* name;
  std::int64_t tp;
  Precision precision;
};

// Multi-head attention, grouped-query under tensor parallelism, multi-query (Falcon), and an
// fp8 KV cache under 16-bit math.
std::vector<Model> models() {
  return {{"llama-2-7b", 1, {}},
          {"llama-2-70b", 4, {}},
          {"falcon-7b", 1, {}},
          {"llama-2-13b", 2, Precision(DType::kFp16, DType::kFp16, DType::kFp8)}};
}

DecomposeOptions options(const Model& m) {
  DecomposeOptions o;
  o.tensor_parallel = m.tp;
  o.precision = m.precision;
  return o;
}

// A random decode batch's totals: up to `max_batch` requests of 1 to `max_kv` keys.
DecodeTotals random_totals(std::mt19937_64& rng, std::int64_t max_batch, std::int64_t max_kv) {
  const auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  DecodeTotals t{uniform(1, max_batch), 0, 0};
  for (std::int64_t i = 0; i < t.batch; ++i) {
    const std::int64_t l = uniform(1, max_kv);
    t.kv += l;
    t.most = std::max(t.most, l);
  }
  return t;
}

bool same_grid(const AttentionFeatures& a, const AttentionFeatures& b) {
  // Every feature but the bytes moved (index 4), which the pricer adds per call.
  return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[5] == b[5] &&
         a[6] == b[6];
}

}  // namespace

TEST(FastPaths, DecodeAttentionTemplateEqualsDecodeAttentionOnRandomBatches) {
  std::mt19937_64 rng(2020);
  for (const Model& m : models()) {
    SCOPED_TRACE(m.name);
    const LlmSpec spec = catalog::llm(m.name);
    const DecomposeOptions o = options(m);
    auto t = DecodeAttentionTemplate::make(spec, o);
    ASSERT_TRUE(t.has_value());  // the shipped dense models take the fast path
    for (int trial = 0; trial < 2000; ++trial) {
      const DecodeTotals totals = random_totals(rng, trial % 2 ? 8 : 300, 4096);
      const Operation want = decode_attention(spec, totals, o).ops[0];
      const Operation& got = t->at(totals);
      ASSERT_EQ(got.flops, want.flops);  // exact: the same products in the same order
      ASSERT_EQ(got.bytes_read, want.bytes_read);
      ASSERT_EQ(got.bytes_written, want.bytes_written);
      ASSERT_EQ(got.attention.batch, want.attention.batch);
      ASSERT_EQ(got.attention.q_tokens, want.attention.q_tokens);
      ASSERT_EQ(got.attention.kv_tokens, want.attention.kv_tokens);
      ASSERT_EQ(got.attention.pairs, want.attention.pairs);
      ASSERT_EQ(got.attention.longest_kv, want.attention.longest_kv);
      // The fixed fields, as built.
      ASSERT_EQ(got.kind, want.kind);
      ASSERT_EQ(got.dtype, want.dtype);
      ASSERT_EQ(got.layer_share, want.layer_share);
      ASSERT_EQ(got.weight_bytes, want.weight_bytes);
      ASSERT_EQ(got.attention.heads, want.attention.heads);
      ASSERT_EQ(got.attention.kv_heads, want.attention.kv_heads);
      ASSERT_EQ(got.attention.head_dim, want.attention.head_dim);
      ASSERT_EQ(got.attention.prefill, want.attention.prefill);
    }
  }
}

TEST(FastPaths, DecodeAttentionTemplateKeepsTheChecksAndRefusesWhatItDoesNotCover) {
  const LlmSpec llama = catalog::llm("llama-2-7b");
  auto t = DecodeAttentionTemplate::make(llama, DecomposeOptions{});
  ASSERT_TRUE(t.has_value());
  EXPECT_THROW((void)t->at(DecodeTotals{0, 0, 0}), std::invalid_argument);
  const std::int64_t huge = std::int64_t{1} << 55;
  EXPECT_THROW((void)t->at(DecodeTotals{1, huge, huge}), std::exception);
  EXPECT_THROW((void)t->at(DecodeTotals{std::int64_t{1} << 40, 1, 1}), std::exception);
  // Eager attention (three kernels), latent attention and a sliding window: not one fused
  // kernel of full attention, so the compiled cost builds them per call.
  DecomposeOptions eager;
  eager.attention = AttentionImpl::kEager;
  EXPECT_FALSE(DecodeAttentionTemplate::make(llama, eager).has_value());
  EXPECT_FALSE(
      DecodeAttentionTemplate::make(catalog::llm("deepseek-v3"), DecomposeOptions{}).has_value());
  EXPECT_FALSE(
      DecodeAttentionTemplate::make(catalog::llm("mistral-7b"), DecomposeOptions{}).has_value());
}

TEST(FastPaths, DecodeGridKeyDeterminesTheLaunchGrid) {
  std::mt19937_64 rng(7);
  for (const Model& m : models()) {
    SCOPED_TRACE(m.name);
    const LlmSpec spec = catalog::llm(m.name);
    auto t = DecodeAttentionTemplate::make(spec, options(m));
    ASSERT_TRUE(t.has_value());
    // Small batches and short contexts, so that keys repeat across random totals.
    std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>,
             AttentionFeatures>
        seen;
    std::size_t repeats = 0;
    for (int trial = 0; trial < 5000; ++trial) {
      const Operation& op = t->at(random_totals(rng, 6, 700));
      const DecodeGridKey k = decode_grid_key(op.attention);
      for (const int sms : {108, 132}) {
        const AttentionFeatures f = attention_grid_features(op, sms, 2, 0);
        const auto key = std::make_tuple(k.batch * 1000 + sms, k.q, k.mean_tiles, k.kv_tiles);
        const auto [it, fresh] = seen.emplace(key, f);
        if (!fresh) {
          ++repeats;
          ASSERT_TRUE(same_grid(it->second, f)) << "batch " << k.batch << ", tiles "
                                                << k.mean_tiles << "/" << k.kv_tiles;
        }
      }
    }
    EXPECT_GT(repeats, 5000U);
  }
}

TEST(FastPaths, FusedDecodePricerEqualsCalibratedCostOnEveryShippedProfile) {
  std::mt19937_64 rng(99);
  for (const std::string& name : shipped_profiles()) {
    SCOPED_TRACE(name);
    DeviceProfile profile = shipped_profile(name);
    const GpuSpec gpu = catalog::gpu(profile.gpu);
    const CalibratedModel model(gpu, std::move(profile), {});
    for (const Model& m : models()) {
      SCOPED_TRACE(m.name);
      auto t = DecodeAttentionTemplate::make(catalog::llm(m.name), options(m));
      ASSERT_TRUE(t.has_value());
      auto pricer = model.decode_attention_pricer(t->at({1, 1, 1}));
      if (!model.profile().attention_decode) {
        EXPECT_EQ(pricer, nullptr);  // cost() has no decode fit to take either
        continue;
      }
      ASSERT_NE(pricer, nullptr);
      // Short batches repeat keys (memo hits); long ones pass the memo's 1,024 entries
      // (collisions replace entries, priced again).
      for (int trial = 0; trial < 4000; ++trial) {
        const DecodeTotals totals =
            trial % 2 ? random_totals(rng, 4, 600) : random_totals(rng, 256, 8192);
        const Operation& op = t->at(totals);
        ASSERT_EQ(pricer->seconds(op), model.cost(op).seconds)
            << totals.batch << " requests, " << totals.kv << " keys, longest " << totals.most;
      }
    }
  }
}

TEST(FastPaths, FusedDecodePricerIsOfferedOnlyWhereTheDecodeFitPrices) {
  const CalibratedModel model(catalog::gpu("a100-sxm4-80gb"), shipped_profile("a100-sxm4-80gb"),
                              {});
  const LlmSpec spec = catalog::llm("llama-2-7b");
  auto t = DecodeAttentionTemplate::make(spec, DecomposeOptions{});
  ASSERT_TRUE(t.has_value());
  const Operation decode = t->at({4, 4000, 1500});
  EXPECT_NE(model.decode_attention_pricer(decode), nullptr);
  // fp8 math (cost() takes the roofline), a prefill chunk (the prefill fit), eager attention's
  // batched GEMMs (the GEMM fit), a GEMM: no pricer.
  Operation fp8 = decode;
  fp8.dtype = DType::kFp8;
  EXPECT_EQ(model.decode_attention_pricer(fp8), nullptr);
  const AttentionOps prefill = prefill_attention(spec, {64, 512, Mask::kCausal}, {});
  EXPECT_EQ(model.decode_attention_pricer(prefill.ops[0]), nullptr);
  DecomposeOptions eager;
  eager.attention = AttentionImpl::kEager;
  const AttentionOps scores = decode_attention(spec, DecodeTotals{4, 4000, 1500}, eager);
  EXPECT_EQ(model.decode_attention_pricer(scores.ops[0]), nullptr);
  EXPECT_EQ(model.decode_attention_pricer(gemm(OpKind::kMlpUp, LayerStage::kPostAttention, 8,
                                                 4096, 4096, Precision{})),
            nullptr);
  // An operation of another shape is refused, not priced from the wrong memo.
  auto pricer = model.decode_attention_pricer(decode);
  Operation other = decode;
  other.attention.heads *= 2;
  EXPECT_THROW((void)pricer->seconds(other), std::logic_error);
}

}  // namespace kvsim
