// KVR-P: interpolation reproduces trained points and blends between them in log space, the fit
// recovers a smooth law, the file round-trips, and other models are refused.
#include <cmath>

#include <gtest/gtest.h>

#include "prefill/fixture.hpp"
#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/predictor.hpp"
#include "sim/prefill/search.hpp"

namespace kvsim::prefill {
namespace {

const PredictorKey kKey{"llama-2-7b", "A100", "eager", "fp16"};

// A smooth synthetic law: the first process's share grows with log C.
std::vector<double> law(int p, std::int64_t c) {
  std::vector<double> f(static_cast<std::size_t>(p));
  double total = 0;
  for (int i = 0; i < p; ++i) {
    f[i] = std::exp(-0.1 * std::log(static_cast<double>(c) / 1024) * i);
    total += f[i];
  }
  for (double& v : f) v /= total;
  return f;
}

PredictorTable synthetic() {
  std::vector<TrainingPoint> points;
  for (const int p : {2, 4}) {
    for (const double b : {10e9, 100e9}) {
      for (const std::int64_t c : {1024, 4096, 16384}) {
        points.push_back({p, b, c, law(p, c), Duration(1000), "fully-connected"});
      }
    }
  }
  return PredictorTable(kKey, points);
}

// The shipped predictor: Llama-2-7B and Falcon-7B on A100s, 2-8 GPUs, 10-300 GB/s, 1k-16k.
std::shared_ptr<const PartitionPredictor> shipped() {
  return std::make_shared<const PartitionPredictor>(
      PartitionPredictor::load(std::string(KVSIM_SOURCE_DIR) + "/predictors/a100-kvr.json"));
}

}  // namespace

TEST(Predictor, OffItsTrainedGpuCountsWarnsAndSearchesInsteadOfExtrapolating) {
  // Llama-2-7B (fused, fp16 KV) at 4096 tokens on 16 GPUs joined at 300 GB/s: the predictor
  // was trained on 2-8 GPUs. Extrapolated (the old behaviour: the best of its candidates) it
  // loses to the even split; KVR-P now warns and takes the search's partition.
  testing::Fixture f("llama-2-7b", net::testing::full_mesh(16, 300e9, Duration(1000)), 4096);
  const auto predictor = shipped();
  const KvrStrategy kvrp(make_predicted_partitioner(predictor, "a100-kvr.json", "s.json",
                                                    "/prefill/strategies/0/partitioner"),
                         KvrOptions{});
  const PartitionQuery q = kvrp.query(f.setup);
  const std::vector<std::string> warnings = kvrp.partitioner().check(q);
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_EQ(warnings[0],
            "s.json: at /prefill/strategies/0/partitioner: KVR-P predictor a100-kvr.json was "
            "trained on 2 to 8 GPUs, not 16; off its trained ranges KVR-P uses the search "
            "(KVR-S, default options) instead of a prediction (keep the chain inside them, or "
            "train a predictor that covers it with kvsim train-predictor)");
  const PredictorTable& table = predictor->table(predictor_key(f.setup));
  const Partition extrapolated =
      choose_candidate(table.candidates(16, 300e9, 4096), 4096, q.evaluate).first;
  const Partition even = even_partition(4096, 16);
  ASSERT_GT(q.evaluate(extrapolated), q.evaluate(even));
  const PrefillResult r = kvrp.run(f.setup, false);
  EXPECT_EQ(r.partition, search_partition(q, SearchOptions{}).best);
  EXPECT_LE(r.ttft, simulate_kvr(f.setup, even, KvrOptions{}, false).ttft);
}

TEST(Predictor, NamesEveryDimensionOffItsRangeAndNothingInside) {
  const auto predictor = shipped();
  const PredictorTable& t = predictor->tables().front();
  const TrainedRanges r = t.ranges();
  EXPECT_EQ(r.min_processes, 2);
  EXPECT_EQ(r.max_processes, 8);
  EXPECT_EQ(r.min_context, 1024);
  EXPECT_EQ(r.max_context, 16384);
  EXPECT_DOUBLE_EQ(r.max_bandwidth, 300e9);
  EXPECT_TRUE(t.off_range(8, 300e9, 16384).empty());
  EXPECT_TRUE(t.off_range(3, 42e9, 3000).empty());  // between trained values is inside
  const auto off = t.off_range(16, 600e9, 32768);
  ASSERT_EQ(off.size(), 3U);
  EXPECT_EQ(off[0], "was trained on 2 to 8 GPUs, not 16");
  EXPECT_EQ(off[1], "was trained on contexts of 1024 to 16384 tokens, not 32768");
  EXPECT_EQ(off[2], "was trained on chain bandwidths of 10 to 300 GB/s, not 600 GB/s");
}

TEST(Predictor, InsideItsRangesNoWarningAndNeverSlowerThanTheEvenSplit) {
  testing::Fixture f("llama-2-7b", net::testing::full_mesh(8, 300e9, Duration(1000)), 4096);
  const KvrStrategy kvrp(make_predicted_partitioner(shipped(), "a100-kvr.json"), KvrOptions{});
  EXPECT_TRUE(kvrp.partitioner().check(kvrp.query(f.setup)).empty());
  EXPECT_LE(kvrp.run(f.setup, false).ttft,
            simulate_kvr(f.setup, even_partition(4096, 8), KvrOptions{}, false).ttft);
}

TEST(Predictor, ReproducesTrainedPointsAndInterpolatesInLogContext) {
  const PredictorTable t = synthetic();
  const Prediction at = t.predict(4, 10e9, 4096);
  EXPECT_EQ(at.method, "interpolated");
  for (int i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(at.fractions[i], law(4, 4096)[i]);
  // 2048 is halfway between 1024 and 4096 in log space: the mean of the two trained vectors.
  const Prediction mid = t.predict(4, 31.6e9, 2048);
  EXPECT_EQ(mid.method, "interpolated");
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(mid.fractions[i], 0.5 * (law(4, 1024)[i] + law(4, 4096)[i]), 1e-12);
  }
}

TEST(Predictor, FitsOffTheGrid) {
  const PredictorTable t = synthetic();
  // 3 processes were never trained, nor 32k tokens: the parametric fit answers.
  const Prediction off = t.predict(4, 10e9, 32768);
  EXPECT_EQ(off.method, "fitted");
  const auto expected = law(4, 32768);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(off.fractions[i], expected[i], 0.01);
  const Prediction three = t.predict(3, 30e9, 4096);
  EXPECT_EQ(three.method, "fitted");
  double total = 0;
  for (const double f : three.fractions) total += f;
  EXPECT_NEAR(total, 1, 1e-12);
  EXPECT_GT(three.fractions[0], three.fractions[2]);
}

TEST(Predictor, RoundTripsThroughJsonAndRefusesOtherModels) {
  const PartitionPredictor p({synthetic()});
  const Json j = p.to_json();
  // The file records the trained ranges: 2-4 processes, 1024-16384 tokens, 10-100 GB/s.
  EXPECT_EQ(j["tables"][0]["trained_ranges"]["processes"], Json::array({2, 4}));
  EXPECT_EQ(j["tables"][0]["trained_ranges"]["context_tokens"], Json::array({1024, 16384}));
  const Json tables = j["tables"];
  const PredictorTable back =
      PredictorTable::from_json(ConfigNode(&tables[0], "p.json", Json::json_pointer("/tables/0")));
  EXPECT_EQ(back.predict(2, 50e9, 3000).fractions, synthetic().predict(2, 50e9, 3000).fractions);
  PredictorKey other = kKey;
  other.model = "falcon-7b";
  try {
    (void)p.table(other);
    ADD_FAILURE() << "expected a refusal";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("not trained for falcon-7b"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("llama-2-7b"), std::string::npos);
  }
}

TEST(Predictor, FractionsBecomeTokenCountsThatSumToTheContext) {
  const Partition x = partition_from_fractions({0.5, 0.3, 0.2}, 1001);
  EXPECT_EQ(x, (Partition{501, 300, 200}));
  // A tiny share still gets a token.
  const Partition y = partition_from_fractions({0.999, 0.0005, 0.0005}, 100);
  EXPECT_EQ(y[1], 1);
  EXPECT_EQ(y[0] + y[1] + y[2], 100);
}

TEST(Predictor, ChoosesTheFastestCandidate) {
  const std::vector<Prediction> c{{{0.5, 0.5}, "interpolated"}, {{0.75, 0.25}, "row"}};
  const auto [x, method] = choose_candidate(c, 100, [](const Partition& part) {
    return Duration(part[1]);  // fewer tokens on the second process is faster
  });
  EXPECT_EQ(x, (Partition{75, 25}));
  EXPECT_EQ(method, "row");
}

}  // namespace kvsim::prefill
