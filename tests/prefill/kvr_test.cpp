#include <numeric>

#include <gtest/gtest.h>

#include "prefill/fixture.hpp"
#include "sim/network/topologies.hpp"
#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/impl/synchronous.hpp"
#include "sim/report/prefill_report.hpp"

namespace kvsim::prefill {
namespace {

net::Topology preset(const Json& j) {
  return net::topologies().create(ConfigNode(&j, "test", Json::json_pointer()),
                                  catalog::gpu("a100-sxm4-80gb"));
}

double total(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

}  // namespace

TEST(Kvr, ClosedFormNetworkAgreesWithFlowsWhereNothingCompetes) {
  const Json nvswitch{{"type", "nvswitch"}, {"gpus", 8}};
  const Json slow{{"type", "fully-connected"},
                  {"gpus", 8},
                  {"link", {{"bandwidth", "10GB/s"}, {"latency", "2us"}}}};
  for (const Json& topology : {nvswitch, slow}) {
    testing::Fixture f("llama-2-7b", preset(topology), 16384);
    for (const Partition& parts : {even_partition(16384, 8),
                                   Partition{2600, 2400, 2200, 2100, 2000, 1800, 1700, 1584}}) {
      for (const bool before : {true, false}) {
        KvrOptions o;
        o.send_before_attention = before;
        EXPECT_EQ(closed_form_obstacle(f.setup, o), "");
        EXPECT_EQ(simulate_kvr(f.setup, parts, o, false).ttft,
                  kvr_closed_form_ttft(f.setup, parts, before))
            << topology.dump() << " send before attention: " << before;
      }
    }
  }
}

TEST(Kvr, PointToPointProtocolIsPricedAlikeInClosedFormAndFlows) {
  // A fixed cost per message and 60% of the link: each of the 32 layers' messages pays both, in
  // the event-driven run and in the closed form, and TTFT rises over the bare flow.
  const Json slow{{"type", "fully-connected"},
                  {"gpus", 4},
                  {"link", {{"bandwidth", "10GB/s"}, {"latency", "2us"}}}};
  testing::Fixture f("llama-2-7b", preset(slow), 8192);
  const Partition parts = even_partition(8192, 4);
  const Duration bare = simulate_kvr(f.setup, parts, KvrOptions{}, false).ttft;
  f.setup.collectives.point_to_point = {"p2p", from_seconds(20e-6), 0.6};
  const Duration priced = simulate_kvr(f.setup, parts, KvrOptions{}, false).ttft;
  EXPECT_EQ(priced, kvr_closed_form_ttft(f.setup, parts, true));
  EXPECT_GT(priced, bare + 32 * from_seconds(20e-6));
}

TEST(Kvr, MessagesQueueOnASlowLinkInLayerOrder) {
  // Two processes over a 1 GB/s link. Process 0 (2048 tokens) finishes each layer in well under
  // a millisecond, but each layer's 2048-token prefix (2048 x 16 KiB = 32 MiB) needs 33.6 ms on
  // the link: the messages queue, so the last one arrives no earlier than 32 transfers after
  // the first is sent, and process 1 (which needs every layer in turn) ends after that.
  net::Topology t = net::testing::full_mesh(2, 1e9, Duration(0));
  testing::Fixture f("llama-2-7b", std::move(t), 4096);
  const PrefillResult r = simulate_kvr(f.setup, Partition{2048, 2048}, KvrOptions{}, false);
  const Duration per_message = from_seconds_ceil(2048 * 16384.0 / 1e9);
  EXPECT_GT(r.ttft, 32 * per_message);
  EXPECT_EQ(r.ttft, kvr_closed_form_ttft(f.setup, Partition{2048, 2048}, true));
  EXPECT_GT(r.critical_communication, 31 * per_message);
  EXPECT_DOUBLE_EQ(total(r.link_bytes), 32 * 2048 * 16384.0);
}

TEST(Kvr, PaperExampleTrafficNineTokensThreeProcesses) {
  // KV-Runahead's example: 9 tokens on 3 processes. KVR with 4/3/2 sends S_1 + S_2 = 4 + 7 = 11
  // tokens of K and V per layer (22 entries); TSP all-gathers 3 x 2 x 3 = 18 tokens (36 entries).
  testing::Fixture f("llama-2-7b", net::testing::full_mesh(3, 300e9, Duration(0)), 9);
  const double per_token_layer = f.model.kv_bytes_per_token_layer(DType::kFp16);
  const PrefillResult kvr = simulate_kvr(f.setup, Partition{4, 3, 2}, KvrOptions{}, false);
  EXPECT_DOUBLE_EQ(total(kvr.link_bytes), 32 * 11 * per_token_layer);
  const PrefillResult tsp = TspStrategy(false).run(f.setup, false);
  EXPECT_DOUBLE_EQ(total(tsp.link_bytes), 32 * 18 * per_token_layer);
}

TEST(Kvr, DirectSendsMoveOnlyEachProcesssOwnTokens) {
  testing::Fixture f("llama-2-7b", net::testing::full_mesh(3, 300e9, Duration(0)), 9);
  KvrOptions o;
  o.relay = false;
  const PrefillResult r = simulate_kvr(f.setup, Partition{4, 3, 2}, o, false);
  // Process 1 sends 4 tokens to 2 and to 3, process 2 sends 3 tokens to 3: 11 tokens per layer.
  EXPECT_DOUBLE_EQ(total(r.link_bytes), 32 * 11 * f.model.kv_bytes_per_token_layer(DType::kFp16));
  EXPECT_NE(closed_form_obstacle(f.setup, o), "");
}

TEST(Kvr, RunsAreByteIdenticalIncludingTheTrace) {
  const auto once = [] {
    testing::Fixture f("llama-2-7b", preset({{"type", "nvswitch"}, {"gpus", 4}}), 4096);
    std::vector<PrefillResult> results;
    results.push_back(simulate_kvr(f.setup, even_partition(4096, 4), KvrOptions{}, true));
    results.push_back(TspStrategy(false).run(f.setup, true));
    return report::prefill_json(results, *f.topology).dump() + report::chrome_trace(results);
  };
  EXPECT_EQ(once(), once());
}

TEST(Kvr, UnevenPartitionBalancesAttentionBetterThanEven) {
  // Later processes attend over longer prefixes; giving earlier ones more tokens helps.
  testing::Fixture f("llama-2-7b", preset({{"type", "nvswitch"}, {"gpus", 4}}), 16384);
  const Duration even = simulate_kvr(f.setup, even_partition(16384, 4), {}, false).ttft;
  const Duration skewed = simulate_kvr(f.setup, Partition{4800, 4100, 3900, 3584}, {}, false).ttft;
  EXPECT_LT(skewed, even);
}

TEST(Kvr, BadPartitionsAreRejected) {
  testing::Fixture f("llama-2-7b", testing::ideal_network(2), 100);
  EXPECT_THROW(simulate_kvr(f.setup, Partition{50, 49}, {}, false), std::invalid_argument);
  EXPECT_THROW(simulate_kvr(f.setup, Partition{100, 0}, {}, false), std::invalid_argument);
  EXPECT_THROW(simulate_kvr(f.setup, Partition{100}, {}, false), std::invalid_argument);
}

}  // namespace kvsim::prefill
