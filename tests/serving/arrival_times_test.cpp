// Explicit arrival times ("times") and a closed-loop client ("max_concurrency") in the serving
// simulation: how kvsim compare replays a benchmark exactly as it ran.
#include <gtest/gtest.h>

#include "sim/serving/engine.hpp"

namespace kvsim::serving {
namespace {

const std::string kScenario = std::string(KVSIM_SOURCE_DIR) + "/scenarios/default.json";

// Runs `workload` on the default scenario served one request at a time; records by request id.
std::vector<RequestRecord> run(const Json& workload) {
  Json j = ConfigDocument::load_file(kScenario).json();
  j["serving"] = {{"host_overhead", "0us"},
                  {"scheduler", {{"type", "static"}, {"max_batch_size", 1}}},
                  {"workload", workload}};
  const ConfigDocument doc(j, kScenario);
  const Scenario s = load_scenario(doc);
  const ConfigNode node = doc.root().at("serving");
  ServingSetup setup = ServingSetup::from_config(node, s);
  Workload w(node.at("workload"), RandomStreams(s.seed), s.model.max_context);
  std::vector<RequestRecord> out(w.total());
  ServingObservers observers;
  observers.request = [&](const RequestRecord& r) { out[r.id] = r; };
  simulate_serving(s, setup, std::move(w), observers);
  return out;
}

Json lengths() { return {{"type", "fixed"}, {"prompt", 512}, {"output", 2}}; }

std::string error_pointer(const Json& workload) {
  try {
    run(workload);
  } catch (const InputError& e) {
    return e.pointer();
  }
  return "no error";
}

}  // namespace

TEST(ArrivalTimes, RequestsArriveAtTheGivenTimes) {
  const auto r = run({{"arrivals", {{"type", "times"}, {"seconds", {0.5, 0.5, 40.0}}}},
                      {"lengths", lengths()}});
  ASSERT_EQ(r.size(), 3u);  // the count defaults to the number of times
  EXPECT_DOUBLE_EQ(r[0].arrival, 0.5);
  EXPECT_DOUBLE_EQ(r[1].arrival, 0.5);
  EXPECT_DOUBLE_EQ(r[2].arrival, 40.0);
  EXPECT_GE(r[1].scheduled, r[0].completion);  // one at a time: the second waited
  EXPECT_DOUBLE_EQ(r[2].scheduled, 40.0);      // the server was idle again
}

TEST(ArrivalTimes, BadTimesNameTheEntry) {
  EXPECT_EQ(error_pointer({{"arrivals", {{"type", "times"}, {"seconds", {1.0, 0.5}}}},
                           {"lengths", lengths()}}),
            "/serving/workload/arrivals/seconds/1");
  EXPECT_EQ(error_pointer({{"arrivals", {{"type", "times"}, {"seconds", {-1.0}}}},
                           {"lengths", lengths()}}),
            "/serving/workload/arrivals/seconds/0");
  EXPECT_EQ(error_pointer({{"arrivals", {{"type", "times"}, {"seconds", Json::array()}}},
                           {"lengths", lengths()}}),
            "/serving/workload/arrivals/seconds");
  EXPECT_EQ(error_pointer({{"requests", 3},
                           {"arrivals", {{"type", "times"}, {"seconds", {0.0, 1.0}}}},
                           {"lengths", lengths()}}),
            "/serving/workload/requests");
}

TEST(ClosedLoop, ARequestIsSentWhenOneFinishes) {
  // Three requests due at once, at most one in flight: each is sent (its arrival, from which
  // its TTFT counts) the instant the one before completes.
  const auto r = run({{"requests", 3},
                      {"max_concurrency", 1},
                      {"arrivals", {{"type", "burst"}}},
                      {"lengths", lengths()}});
  EXPECT_DOUBLE_EQ(r[0].arrival, 0.0);
  EXPECT_DOUBLE_EQ(r[1].arrival, r[0].completion);
  EXPECT_DOUBLE_EQ(r[2].arrival, r[1].completion);
  EXPECT_NEAR(r[2].first_token - r[2].arrival, r[0].first_token - r[0].arrival, 1e-12);
  // Two in flight: the third waits for the first to finish.
  const auto two = run({{"requests", 3},
                        {"max_concurrency", 2},
                        {"arrivals", {{"type", "burst"}}},
                        {"lengths", lengths()}});
  EXPECT_DOUBLE_EQ(two[1].arrival, 0.0);
  EXPECT_DOUBLE_EQ(two[2].arrival, two[0].completion);
}

}  // namespace kvsim::serving
