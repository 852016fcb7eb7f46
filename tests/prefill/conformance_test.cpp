// One suite over every registered prefill strategy: a strategy is tested the moment it is
// registered.
#include <gtest/gtest.h>

#include "prefill/fixture.hpp"
#include "sim/network/topologies.hpp"
#include "sim/prefill/builtin.hpp"

namespace kvsim::prefill {
namespace {

class EveryStrategy : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<PrefillStrategy> make() const {
    const Json j{{"type", GetParam()}};
    return strategies().create(ConfigNode(&j, "test", Json::json_pointer()));
  }
  static testing::Fixture fixture() {
    const Json t{{"type", "nvswitch"}, {"gpus", 4}};
    return testing::Fixture("llama-2-7b",
                            net::topologies().create(ConfigNode(&t, "test", Json::json_pointer()),
                                                     catalog::gpu("a100-sxm4-80gb")),
                            4096);
  }
};

TEST_P(EveryStrategy, TimesAddUpAndTheCriticalPathFitsTtft) {
  const testing::Fixture f = fixture();
  const PrefillResult r = make()->run(f.setup, false);
  EXPECT_GT(r.ttft.count(), 0);
  EXPECT_EQ(r.critical_compute + r.critical_communication, r.ttft);
  EXPECT_GE(r.critical_compute.count(), 0);
  for (const GpuTime& g : r.gpus) {
    if (g.busy.count() == 0) continue;  // single uses one GPU of the four
    EXPECT_LE(g.busy + g.waiting, r.ttft);
    EXPECT_EQ(g.busy + g.waiting + g.idle, r.ttft);
  }
}

TEST_P(EveryStrategy, IsDeterministic) {
  const testing::Fixture f = fixture();
  const auto strategy = make();
  const PrefillResult a = strategy->run(f.setup, false);
  const PrefillResult b = strategy->run(f.setup, false);
  EXPECT_EQ(a.ttft, b.ttft);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.link_bytes, b.link_bytes);
}

TEST_P(EveryStrategy, NeverBeatsTheComputeFloorOfItsShare) {
  // No strategy can finish before 1/p of the single-GPU FLOPs at peak.
  const testing::Fixture f = fixture();
  const auto layer = prefill_layer(f.model, PrefillChunk{4096, 4096, Mask::kCausal}, {});
  const double floor = 32 * total_flops(layer) / 312e12 / 4;
  EXPECT_GE(to_seconds(make()->run(f.setup, false).ttft), floor);
}

INSTANTIATE_TEST_SUITE_P(Registered, EveryStrategy,
                         ::testing::ValuesIn(strategies().names()),
                         [](const auto& case_info) { return case_info.param; });

}  // namespace
}  // namespace kvsim::prefill
