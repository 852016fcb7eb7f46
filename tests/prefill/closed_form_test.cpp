// With free communication (infinite bandwidth, zero latency) and the roofline, each strategy's
// simulated TTFT equals its closed form exactly.
#include <gtest/gtest.h>

#include "prefill/fixture.hpp"
#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/impl/synchronous.hpp"
#include "sim/prefill/partitioner.hpp"
#include "sim/prefill/stage_costs.hpp"

namespace kvsim::prefill {
namespace {

// KV-Runahead's recurrence, written out independently of the implementation:
//   D_i(-1) = embedding_i
//   R_i(l)  = max(D_i(l-1) + qkv_i, R_{i-1}(l))   (own QKV ready; prefix sent by i-1 at R_{i-1})
//   D_i(l)  = R_i(l) + attention_i + rest_i
//   TTFT    = D_{p-1}(L-1) + head_{p-1}
Duration kvr_recurrence(const PrefillSetup& s, const Partition& parts) {
  const int p = static_cast<int>(parts.size());
  std::vector<StageCosts> c;
  std::int64_t prefix = 0;
  for (int i = 0; i < p; ++i) {
    prefix += parts[i];
    c.push_back(stage_costs(s, parts[i], prefix, Mask::kCausal));
  }
  std::vector<SimTime> d(p);
  for (int i = 0; i < p; ++i) d[i] = SimTime{0} + c[i].embedding;
  for (std::int64_t l = 0; l < s.model->layers; ++l) {
    SimTime previous_ready{0};
    for (int i = 0; i < p; ++i) {
      SimTime ready = d[i] + c[i].qkv;
      if (i > 0) ready = std::max(ready, previous_ready);
      previous_ready = ready;
      d[i] = ready + c[i].attention + c[i].rest;
    }
  }
  return d[p - 1] + c[p - 1].head;
}

}  // namespace

TEST(ClosedForm, KvrMatchesTheRecurrenceForSeveralPartitions) {
  for (const Partition& parts : {Partition{4096}, Partition{2048, 2048}, Partition{2500, 1596},
                                 Partition{1800, 1300, 996}, Partition{1400, 1100, 900, 696}}) {
    testing::Fixture f("llama-2-7b", testing::ideal_network(static_cast<int>(parts.size())),
                       4096);
    const Duration expected = kvr_recurrence(f.setup, parts);
    EXPECT_EQ(simulate_kvr(f.setup, parts, KvrOptions{}, false).ttft, expected)
        << parts.size() << " processes";
    EXPECT_EQ(kvr_closed_form_ttft(f.setup, parts, true), expected);
  }
}

TEST(ClosedForm, TspIsLayersTimesQkvGatherAttentionRest) {
  for (const int p : {2, 4, 8}) {
    testing::Fixture f("llama-2-7b", testing::ideal_network(p), 8192);
    // Even split, C/p = 8192/p queries against all 8192 keys (the dense rectangle); the
    // all-gather costs nothing here, so
    // TTFT = embedding + layers x (qkv + attention + rest) + head.
    const StageCosts c = stage_costs(f.setup, 8192 / p, 8192, Mask::kDense);
    const Duration expected =
        c.embedding + f.model.layers * (c.qkv + c.attention + c.rest) + c.head;
    EXPECT_EQ(TspStrategy(false).run(f.setup, false).ttft, expected) << p;
  }
}

TEST(ClosedForm, TspWithFiniteUniformLinksAddsTheRingAllGatherEveryLayer) {
  const int p = 4;
  testing::Fixture f("llama-2-7b", net::testing::full_mesh(p, 300e9, std::chrono::microseconds(2)),
                     4096);
  const StageCosts c = stage_costs(f.setup, 1024, 4096, Mask::kDense);
  // All-gather of the layer's K and V for 4096 tokens: 4096 x 512 KiB / 32 layers = 64 MiB.
  const double bytes = 4096.0 * f.model.kv_bytes_per_token_layer(DType::kFp16);
  const Duration gather = net::collective_time(*f.topology, f.setup.gpus,
                                               net::CollectiveKind::kAllGather,
                                               net::CollectiveAlgorithm::kRing, bytes,
                                               net::Protocol{});
  // (p - 1) x (2 us + ceil(64 MiB / 4 / 300 GB/s)) = 3 x (2,000 + 55,925) ns.
  EXPECT_EQ(gather, Duration(3 * (2000 + 55925)));
  const Duration expected =
      c.embedding + f.model.layers * (c.qkv + gather + c.attention + c.rest) + c.head;
  EXPECT_EQ(TspStrategy(false).run(f.setup, false).ttft, expected);
}

TEST(ClosedForm, TpIsLayersTimesShardedBlocks) {
  const int p = 4;
  testing::Fixture f("llama-2-7b", testing::ideal_network(p), 4096);
  DecomposeOptions o;
  o.tensor_parallel = p;
  // Every GPU runs the whole layer with a quarter of the heads and MLP columns; the two
  // all-reduces are free here: TTFT = embedding + layers x (attention block + MLP block) + head.
  const Duration expected = testing::tp_closed_form(f, o, 4096);
  EXPECT_EQ(TpStrategy(false).run(f.setup, false).ttft, expected);
}

TEST(ClosedForm, SingleGpuLlama2_7bAt2048TokensIsPhysicallyPossible) {
  testing::Fixture f("llama-2-7b", testing::ideal_network(1), 2048);
  const Duration ttft = SingleStrategy().run(f.setup, false).ttft;
  // FLOPs of the whole prefill over the A100's 312 TFLOP/s fp16 peak is the floor.
  const auto layer = prefill_layer(f.model, PrefillChunk{2048, 2048, Mask::kCausal}, {});
  const double floor = 32 * total_flops(layer) / 312e12;
  EXPECT_GE(to_seconds(ttft), floor);
  EXPECT_LT(to_seconds(ttft), 2 * floor);
  RecordProperty("ttft_ms", std::to_string(to_ms(ttft)));
  RecordProperty("floor_ms", std::to_string(floor * 1e3));
}

}  // namespace kvsim::prefill
