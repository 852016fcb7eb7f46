// The published engine tables of ../shared/data/engines read in place and predicted on the
// shipped scenarios/engines/ scenarios (label external-data; skipped without the data).
#include <filesystem>

#include <gtest/gtest.h>

#include "sim/compare/compare.hpp"

namespace kvsim::compare {
namespace {

const std::string kData = std::string(KVSIM_SOURCE_DIR) + "/../shared/data/engines";

ConfigDocument scenario(const std::string& name) {
  return ConfigDocument::load_file(std::string(KVSIM_SOURCE_DIR) + "/scenarios/engines/" + name);
}

}  // namespace

TEST(EngineData, PublishedTablesAreReadInPlace) {
  if (!std::filesystem::exists(kData)) GTEST_SKIP() << "no ../shared/data (a user's clone)";
  // 210 Splitwise runs: 19 configurations on each of 2 GPUs, 5 runs each (15 at 512/1/128).
  const Measurements splitwise = read_measurements(kData + "/splitwise_bloom-176b.csv");
  ASSERT_EQ(splitwise.points.size(), 38u);
  std::size_t runs = 0;
  for (const MeasuredPoint& p : splitwise.points) {
    runs += p.repeats;
    EXPECT_TRUE(p.gpu == "a100-sxm4-80gb" || p.gpu == "h100-sxm") << p.gpu;
    EXPECT_TRUE(p.tpot_ms.has_value()) << p.entry;
  }
  EXPECT_EQ(runs, 210u);
  // a100, prompt 512, batch 1, 128 out: the median of 15 runs' prompt_time.
  EXPECT_EQ(splitwise.points.front().repeats, 15u);
  EXPECT_NEAR(splitwise.points.front().ttft_ms, 173.81, 0.01);
  EXPECT_EQ(read_measurements(kData + "/trtllm_ttft.csv").points.size(), 26u);
  const Measurements decode = read_measurements(kData + "/trtllm_decode.csv");
  ASSERT_EQ(decode.points.size(), 4u);
  // A100 batch 1: 128 tokens at 111/s = 1153.15 ms, less 12.5 ms, over 127 steps: 8.98 ms.
  EXPECT_NEAR(*decode.points.front().tpot_ms, 8.98, 0.005);
}

TEST(EngineData, EverySplitwiseA100RowIsPredictedOnTheShippedScenario) {
  if (!std::filesystem::exists(kData)) GTEST_SKIP() << "no ../shared/data (a user's clone)";
  Measurements m = read_measurements(kData + "/splitwise_bloom-176b.csv");
  select(m, {parse_where("gpu=a100-80gb")});
  const Comparison c = compare(scenario("dgx-a100.json"), m, {});
  ASSERT_EQ(c.points.size(), 19u);
  ASSERT_TRUE(c.aggregates.tpot);
  EXPECT_EQ(c.aggregates.tpot->points, 19u);
  for (const ComparedPoint& p : c.points) {
    EXPECT_GT(p.predicted_ms, 0) << p.measured.entry;
    EXPECT_GT(*p.predicted_tpot_ms, 0) << p.measured.entry;
  }
}

}  // namespace kvsim::compare
