// Flows-mode serving's fast path: a stage is one event whose length is what the flow-by-flow run
// gives while nothing else is on its links (always, for a group no other traffic can reach),
// and continues as flows from where it is when traffic arrives; the results must be the same to
// the last bit, with far fewer events.
#include <gtest/gtest.h>

#include "serving/serving_run.hpp"
#include "sim/serving/communication.hpp"

namespace kvsim::serving {
namespace {

Json serving_section(int replicas, int tp, int pp) {
  return Json{{"workload", {{"requests", 80},
                            {"arrivals", {{"type", "poisson"}, {"rate", "6/s"}}},
                            {"lengths", {{"type", "uniform"}, {"prompt_min", 64},
                                         {"prompt_max", 1500}, {"output_min", 1},
                                         {"output_max", 120}}}}},
              {"replicas", replicas},
              {"tensor_parallel", tp},
              {"pipeline_parallel", pp},
              {"communication", "flows"}};
}

Json cluster(const std::string& topology, int gpus) {
  return Json{{"gpu", "a100-sxm4-80gb"}, {"topology", {{"type", topology}, {"gpus", gpus}}}};
}

Json summary(ServingRun& run, bool fast_path) {
  ServingSetup setup = ServingSetup::from_config(run.doc.root().at("serving"), run.scenario);
  setup.flows_fast_path = fast_path;
  Workload w(run.doc.root().at("serving").at("workload"), RandomStreams(run.scenario.seed),
             run.scenario.model.max_context);
  return simulate_serving(run.scenario, setup, std::move(w)).summary;
}

// Every field but the event count is the same; returns {fast, flow by flow} events.
std::pair<std::uint64_t, std::uint64_t> expect_same_results(ServingRun& run) {
  Json fast = summary(run, true);
  Json slow = summary(run, false);
  const auto events = std::make_pair(fast["events"].get<std::uint64_t>(),
                                     slow["events"].get<std::uint64_t>());
  fast.erase("events");
  slow.erase("events");
  EXPECT_EQ(fast, slow);
  return events;
}

}  // namespace

TEST(ServingFlowsFastPath, ExclusiveTensorParallelStagesGiveTheFlowByFlowResults) {
  // Two TP 4 replicas on an NVSwitch: each GPU's up- and downlink carry only its own group's
  // all-reduces. Each all-reduce as flows is about ten events (a wait and, per step and rank,
  // an activation and a completion); the fast path prices the whole stage in one.
  ServingRun run(serving_section(2, 4, 1), cluster("nvswitch", 8));
  const auto [fast, slow] = expect_same_results(run);
  EXPECT_LT(fast * 20, slow);
}

TEST(ServingFlowsFastPath, ExclusiveStagesBesidePipelineSendsAsFlows) {
  // TP 2 x PP 2 on a fully connected topology: a stage's all-reduces use the links between
  // its own two GPUs; the sends to the next stage use other links and stay flows.
  ServingRun run(serving_section(2, 2, 2), cluster("fully-connected", 8));
  const auto [fast, slow] = expect_same_results(run);
  EXPECT_LT(fast * 5, slow);
}

TEST(ServingFlowsFastPath, GroupsSharingLinksAreNotExclusive) {
  // On an NVSwitch a pipeline send leaves through the same uplink as the sending stage's
  // all-reduces, so TP 2 x PP 2's stages must watch their links; TP 4 x PP 1 has its links to
  // itself, unless
  // a background flow crosses them (GPU 1 -> GPU 2 uses replica 0's links only).
  for (const auto& [tp, pp, background, exclusive0, exclusive1] :
       std::vector<std::tuple<int, int, bool, bool, bool>>{{2, 2, false, false, false},
                                                           {4, 1, false, true, true},
                                                           {4, 1, true, false, true}}) {
    Json c8 = cluster("nvswitch", 8);
    if (background) c8["background"] = Json::array({{{"from", 1}, {"to", 2}}});
    ServingRun run(serving_section(2, tp, pp), c8);
    const ServingSetup setup =
        ServingSetup::from_config(run.doc.root().at("serving"), run.scenario);
    EventQueue q;
    const Communication c(run.scenario, setup, q);
    EXPECT_EQ(c.exclusive(setup.stage_gpus(0, 0)), exclusive0) << tp << " x " << pp;
    EXPECT_EQ(c.exclusive(setup.stage_gpus(1, 0)), exclusive1) << tp << " x " << pp;
  }
}

TEST(ServingFlowsFastPath, PipelineStagesSharingUplinksGiveTheFlowByFlowResults) {
  // On an NVSwitch each pipeline send crosses the sending stage's uplinks and the receiving
  // stage's downlinks, which their all-reduces use: the stages run as one event until a send
  // becomes active on their links, then as flows from that point. Two replicas share the switch
  // (2 x (TP 2 x PP 2)), and one replica spans it deeper or wider.
  for (const auto& [replicas, tp, pp] : std::vector<std::tuple<int, int, int>>{
           {2, 2, 2}, {1, 2, 4}, {1, 4, 2}}) {
    ServingRun run(serving_section(replicas, tp, pp), cluster("nvswitch", 8));
    const auto [fast, slow] = expect_same_results(run);
    EXPECT_LT(fast * 5, slow) << replicas << " x (" << tp << " x " << pp << ")";
  }
}

TEST(ServingFlowsFastPath, PipelineStagesWithBackgroundFlowsGiveTheFlowByFlowResults) {
  // 2 x (TP 2 x PP 2) with background traffic on stage links: an uncapped flow from GPU 0 to
  // GPU 5 in fixed windows (replica 0's first stage's uplink and replica 1's downlink), and a
  // capped one from GPU 3 to GPU 6 switching on and off at random. Stages continue as flows
  // mid-collective when a background flow switches on, and go back to one event once it is off.
  Json c8 = cluster("nvswitch", 8);
  c8["background"] = Json::array(
      {{{"from", 0}, {"to", 5}, {"windows", Json::array({Json::array({"1s", "3s"}), Json::array({"5s", "5.5s"})})}},
       {{"from", 3}, {"to", 6}, {"rate", "50GB/s"}, {"mean_on", "40ms"}, {"mean_off", "300ms"}}});
  ServingRun run(serving_section(2, 2, 2), c8);
  const auto [fast, slow] = expect_same_results(run);
  EXPECT_LT(fast * 3, slow);
}

}  // namespace kvsim::serving
