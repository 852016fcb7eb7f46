// Property: over random scenarios (a 7B-class catalog model, 2-8 GPUs, 1k-32k tokens, 10-300
// GB/s links each scaled by a random factor, a search granularity from 16 tokens to the coarsest
// the chain allows, seldom dividing the context), KVR-S is never slower than KVR-E, nor than KVR-P
// when KVR-P's partition is the comparison; and off its trained ranges KVR-P warns and takes
// the search's partition. Every TTFT compared is simulated by the strategies' own runs (flows),
// not by the closed form the search evaluates candidates with.
#include <cmath>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/search.hpp"
#include "sim/scenario/scenario.hpp"

namespace kvsim::prefill {
namespace {

struct Draw {
  std::string model;
  int gpus = 0;
  std::int64_t context = 0;
  double bandwidth_gbps = 0;
  bool fused = true;
  bool uneven = true;            // every link scaled by a random factor from the seed
  std::int64_t granularity = 0;  // KVR-S's, in tokens
  std::uint64_t seed = 0;
  std::string describe() const {
    return fmt::format("{} on {} GPUs, {} tokens, {:.1f} GB/s {}, {}, granularity {} (seed {})",
                       model, gpus, context, bandwidth_gbps, uneven ? "uneven" : "even",
                       fused ? "fused" : "eager", granularity, seed);
  }
};

Draw draw(std::mt19937_64& rng, std::uint64_t seed) {
  const std::vector<std::string> models{"llama-2-7b", "falcon-7b", "mistral-7b", "llama-3-8b"};
  std::uniform_real_distribution<double> unit(0, 1);
  Draw d;
  d.model = models[static_cast<std::size_t>(unit(rng) * static_cast<double>(models.size()))];
  d.gpus = 2 + static_cast<int>(unit(rng) * 7);                                   // 2..8
  d.context = std::llround(1024 * std::pow(32.0, unit(rng)));                      // 1k..32k
  d.bandwidth_gbps = std::round(10 * std::pow(30.0, unit(rng)) * 10) / 10;        // 10..300
  d.fused = unit(rng) < 0.5;
  d.uneven = unit(rng) < 0.5;
  // Log-uniform from 16 tokens to the coarsest that leaves a cut position for each of the p-1
  // cuts (about C/(p-1)): coarse grids are where the even split can beat every grid point.
  const double coarsest = static_cast<double>(coarsest_granularity(d.context, d.gpus));
  d.granularity = std::llround(16 * std::pow(coarsest / 16, unit(rng)));
  d.seed = seed;
  return d;
}

Scenario load(const Draw& d) {
  const Json kvr_even{{"type", "kvr"}, {"partitioner", {{"type", "even"}}}};
  const Json kvr_search{{"type", "kvr"},
                        {"partitioner", {{"type", "search"}, {"granularity", d.granularity}}}};
  const Json kvr_predicted{
      {"type", "kvr"},
      {"partitioner",
       {{"type", "predicted"},
        {"file", std::string(KVSIM_SOURCE_DIR) + "/predictors/a100-kvr.json"}}}};
  const Json scenario{
      {"name", "random"},
      {"seed", d.seed},
      {"model", d.model},
      {"cluster",
       {{"gpu", "a100-sxm4-80gb"},
        {"topology",
         {{"type", "fully-connected"},
          {"gpus", d.gpus},
          {"link",
           {{"bandwidth", fmt::format("{}GB/s", d.bandwidth_gbps)}, {"latency", "1us"}}}}},
        // Uneven links: every link's bandwidth scaled by a factor drawn from the seed.
        {"heterogeneity", d.uneven ? Json::array({{{"type", "random-bandwidth"},
                                                   {"distribution", "uniform"},
                                                   {"low", 0.3},
                                                   {"high", 1.0}}})
                                   : Json::array()}}},
      {"compute", {{"type", "roofline"}}},
      {"prefill",
       {{"context_tokens", d.context},
        {"attention", d.fused ? "fused" : "eager"},
        {"strategies", Json::array({kvr_even, kvr_search, kvr_predicted})}}}};
  return load_scenario(ConfigDocument(scenario, fmt::format("random-{}.json", d.seed)));
}

bool warns_about_kvr_p(const Scenario& s) {
  for (const std::string& w : s.warnings) {
    if (w.find("KVR-P predictor") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST(SearchProperty, NeverSlowerThanTheEvenSplitNorThanKvrPOnRandomScenarios) {
  constexpr int kDraws = 32;
  std::mt19937_64 rng(20261129);
  int off_range = 0;
  for (std::uint64_t seed = 1; seed <= static_cast<std::uint64_t>(kDraws); ++seed) {
    const Draw d = draw(rng, seed);
    SCOPED_TRACE(d.describe());
    const Scenario s = load(d);
    const PrefillSetup setup = s.prefill_setup();
    const auto& strategies = s.prefill->strategies;
    const PrefillResult even = strategies[0]->run(setup, false);
    const PrefillResult searched = strategies[1]->run(setup, false);
    const PrefillResult predicted = strategies[2]->run(setup, false);
    EXPECT_LE(searched.ttft, even.ttft);
    // KVR-P's partition is not on the search's grid: where it is the comparison, the search
    // takes it as a candidate, and what it returns, run the same way, is no slower.
    const auto& kvr = dynamic_cast<const KvrStrategy&>(*strategies[1]);
    const PartitionQuery q = kvr.query(setup);
    SearchOptions options;
    options.granularity = d.granularity;
    const Partition with_kvr_p = search_partition(q, options, {predicted.partition}).best;
    EXPECT_LE(simulate_kvr(setup, with_kvr_p, kvr.options(), false).ttft, predicted.ttft);
    // Off its trained ranges (another model, more than 16k tokens, slower links) KVR-P says so
    // and its partition is the default search's.
    if (warns_about_kvr_p(s)) {
      ++off_range;
      EXPECT_EQ(predicted.partition, search_partition(q, SearchOptions{}).best);
    } else {
      EXPECT_LE(predicted.ttft, even.ttft);
    }
  }
  // The draw covers both sides of the trained ranges.
  EXPECT_GT(off_range, 0);
  EXPECT_LT(off_range, kDraws);
}

}  // namespace kvsim::prefill
