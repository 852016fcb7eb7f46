// kvsim compare on `vllm bench serve` results: each request predicted on the scenario's serving
// layout (TP/PP), the model checked, start_times replayed exactly, closed-loop clients replayed
// closed-loop, and TPOT, ITL and end-to-end latency compared beside TTFT.
#include <fstream>

#include <gtest/gtest.h>

#include "sim/compare/compare.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::compare {
namespace {

const std::string kScenario = std::string(KVSIM_SOURCE_DIR) + "/scenarios/default.json";

std::string write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// The default scenario (Llama-2-7B, 8 A100s) served by `serving` (workload added here).
ConfigDocument with_serving(Json serving) {
  Json j = ConfigDocument::load_file(kScenario).json();
  serving["host_overhead"] = "0us";
  serving["workload"] = {{"requests", 1}, {"arrivals", {{"type", "burst"}}},
                         {"lengths", {{"type", "fixed"}, {"prompt", 1}, {"output", 1}}}};
  j["serving"] = serving;
  return ConfigDocument(j, kScenario);
}

// What `kvsim serve` predicts for one request of `prompt` and `output` tokens alone:
// its TTFT and end-to-end latency, seconds.
std::pair<double, double> served_alone(const ConfigDocument& doc, std::int64_t prompt,
                                       std::int64_t output) {
  Json j = doc.json();
  j["serving"]["workload"]["lengths"] = {{"type", "fixed"}, {"prompt", prompt}, {"output", output}};
  const ConfigDocument d(j, doc.name());
  const Scenario s = load_scenario(d);
  const ConfigNode node = d.root().at("serving");
  serving::ServingSetup setup = serving::ServingSetup::from_config(node, s);
  serving::Workload w(node.at("workload"), RandomStreams(s.seed), s.model.max_context);
  std::pair<double, double> out;
  serving::ServingObservers observers;
  observers.request = [&](const serving::RequestRecord& r) {
    out = {r.first_token - r.arrival, r.completion - r.arrival};
  };
  serving::simulate_serving(s, setup, std::move(w), observers);
  return out;
}

Measurements vllm(const std::string& name, const std::string& json) {
  return read_measurements(write(name, json));
}

}  // namespace

TEST(CompareVllm, EachRequestIsPredictedOnTheServingLayout) {
  // A TP4 deployment: a lone 2048-token request's predicted TTFT is kvsim serve's, exactly, and
  // well under a single GPU's (the old prediction ignored TP and gave the single-GPU one).
  const ConfigDocument tp4 = with_serving({{"tensor_parallel", 4}});
  const ConfigDocument tp1 = with_serving({{"tensor_parallel", 1}});
  const Measurements m = vllm("tp4.json", R"({"model_id": "meta-llama/Llama-2-7b-hf",
      "request_rate": "inf", "input_lens": [2048], "output_lens": [1], "ttfts": [0.05]})");
  const Comparison c4 = compare(tp4, m, {});
  const Comparison c1 = compare(tp1, m, {});
  EXPECT_DOUBLE_EQ(c4.points[0].predicted_ms, 1e3 * served_alone(tp4, 2048, 1).first);
  EXPECT_LT(c4.points[0].predicted_ms, 0.5 * c1.points[0].predicted_ms);
  EXPECT_NE(c4.method.find("TP 4"), std::string::npos) << c4.method;
  EXPECT_EQ(c4.points[0].measured.tp, 4);  // the tables show the layout predicted
  // Pipeline parallelism too: two stages add a stage-to-stage send, so a lone request is no
  // faster than on one stage, and it is what kvsim serve predicts.
  const ConfigDocument pp2 = with_serving({{"tensor_parallel", 2}, {"pipeline_parallel", 2}});
  EXPECT_DOUBLE_EQ(compare(pp2, m, {}).points[0].predicted_ms,
                   1e3 * served_alone(pp2, 2048, 1).first);
}

TEST(CompareVllm, AScenarioWithoutServingSaysItPredictsOneGpu) {
  const Measurements m = vllm("noserving.json", R"({"model_id": "llama-2-7b",
      "input_lens": [512], "ttfts": [0.05]})");
  const Comparison c = compare(ConfigDocument::load_file(kScenario), m, {});
  ASSERT_FALSE(c.warnings.empty());
  EXPECT_NE(c.warnings.back().find("predicted as a prefill on one GPU"), std::string::npos);
}

TEST(CompareVllm, ModelIdMustNameTheScenarioModel) {
  EXPECT_TRUE(model_matches("meta-llama/Llama-2-7b-hf", "llama-2-7b"));
  EXPECT_TRUE(model_matches("meta-llama/Meta-Llama-3-8B-Instruct", "llama-3-8b"));
  EXPECT_TRUE(model_matches("facebook/opt-13b", "opt-13b"));
  EXPECT_TRUE(model_matches("/models/llama-2-7b", "llama-2-7b"));
  EXPECT_FALSE(model_matches("meta-llama/Llama-2-70b-hf", "llama-2-7b"));
  EXPECT_FALSE(model_matches("mistralai/Mistral-7B-v0.1", "llama-2-7b"));

  const ConfigDocument doc = with_serving({{"tensor_parallel", 4}});
  const Measurements m = vllm("70b.json", R"({"model_id": "meta-llama/Llama-2-70b-hf",
      "input_lens": [512], "ttfts": [0.05]})");
  try {
    compare(doc, m, {});
    ADD_FAILURE() << "a benchmark of another model was compared";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/model_id");
    EXPECT_NE(std::string(e.what()).find("--allow-model-mismatch"), std::string::npos);
  }
  CompareOptions allow;
  allow.allow_model_mismatch = true;
  const Comparison c = compare(doc, m, allow);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("compared anyway"), std::string::npos);
  // No model_id: compared, with a warning that the model was not checked.
  const Comparison none = compare(doc, vllm("noid.json", R"({"input_lens": [512],
      "ttfts": [0.05]})"), {});
  EXPECT_NE(none.warnings.at(0).find("has no model_id"), std::string::npos);
}

TEST(CompareVllm, QueueingReplaysTheMeasuredStartTimesExactly) {
  // One request at a time, three requests: the first two sent together (t = 1000.5 s on the
  // benchmark's clock), the third 30 s later. The second waits one prefill; the third finds the
  // server idle. A re-drawn burst ("inf" rate) would have made the third wait two prefills.
  const ConfigDocument doc =
      with_serving({{"scheduler", {{"type", "static"}, {"max_batch_size", 1}}}});
  const Measurements m = vllm("starts.json", R"({"model_id": "llama-2-7b",
      "request_rate": "inf", "input_lens": [1024, 1024, 1024], "output_lens": [1, 1, 1],
      "ttfts": [0.1, 0.2, 0.1], "start_times": [1000.5, 1000.5, 1030.5]})");
  CompareOptions queueing;
  queueing.queueing = true;
  const Comparison c = compare(doc, m, queueing);
  const double lone = 1e3 * served_alone(doc, 1024, 1).first;
  ASSERT_EQ(c.points.size(), 3u);
  EXPECT_NEAR(c.points[0].predicted_ms, lone, 1e-5);
  EXPECT_NEAR(c.points[1].predicted_ms, 2 * lone, 2e-5);
  EXPECT_NEAR(c.points[2].predicted_ms, lone, 1e-5);
  EXPECT_NE(c.method.find("start_times"), std::string::npos) << c.method;
  // Requests of equal lengths are distinct points for --baseline: keyed by their index.
  EXPECT_EQ(point_key(c.points[1].measured), "request|1");
  EXPECT_TRUE(c.warnings.empty());
  // Unsorted start times are replayed in time order and reported in the file's order.
  const Measurements swapped = vllm("swapped.json", R"({"model_id": "llama-2-7b",
      "input_lens": [1024, 1024], "output_lens": [1, 1], "ttfts": [0.1, 0.2],
      "start_times": [7.0, 2.0]})");
  const Comparison s = compare(doc, swapped, queueing);
  EXPECT_NEAR(s.points[0].predicted_ms, lone, 1e-5);
  EXPECT_NEAR(s.points[1].predicted_ms, lone, 1e-5);
}

TEST(CompareVllm, WithoutStartTimesTheReplayWarnsThatArrivalsAreRedrawn) {
  const ConfigDocument doc = with_serving({{"scheduler", {{"type", "vllm"}}}});
  CompareOptions queueing;
  queueing.queueing = true;
  const Comparison c = compare(doc, vllm("rate.json", R"({"model_id": "llama-2-7b",
      "request_rate": 2, "input_lens": [256, 256], "ttfts": [0.1, 0.1]})"), queueing);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("draws new arrival gaps"), std::string::npos);
}

TEST(CompareVllm, AClosedLoopClientIsReplayedClosedLoop) {
  // --max-concurrency 1 at an infinite rate: each request is sent when the one before
  // finishes, onto an idle server, so each TTFT (counted from sending, as vLLM counts it) is a
  // lone request's. Open loop, the vllm scheduler would batch all four prefills together.
  const ConfigDocument doc = with_serving({{"scheduler", {{"type", "vllm"}}}});
  const std::string body = R"("model_id": "llama-2-7b", "request_rate": "inf",
      "input_lens": [1024, 1024, 1024, 1024], "output_lens": [4, 4, 4, 4],
      "ttfts": [0.1, 0.1, 0.1, 0.1])";
  CompareOptions queueing;
  queueing.queueing = true;
  const Comparison closed =
      compare(doc, vllm("closed.json", "{" + body + R"(, "max_concurrency": 1})"), queueing);
  const Comparison open = compare(doc, vllm("open.json", "{" + body + "}"), queueing);
  const double lone = 1e3 * served_alone(doc, 1024, 4).first;
  for (const ComparedPoint& p : closed.points) EXPECT_NEAR(p.predicted_ms, lone, 1e-5);
  EXPECT_GT(open.points[3].predicted_ms, 2 * lone);
  EXPECT_NE(closed.method.find("at most 1 in flight (closed loop)"), std::string::npos);
}

TEST(CompareVllm, TpotItlAndEndToEndLatencyAreComparedBesideTtft) {
  // One request of 5 output tokens: measured TTFT 100 ms, latency 500 ms, so TPOT
  // (500 - 100) / (5 - 1) = 100 ms; four gaps between tokens.
  const ConfigDocument doc = with_serving({{"tensor_parallel", 2}});
  const Comparison c = compare(doc, vllm("tpot.json", R"({"model_id": "llama-2-7b",
      "input_lens": [512], "output_lens": [5], "ttfts": [0.1], "latencies": [0.5],
      "itls": [[0.1, 0.1, 0.1, 0.1]]})"), {});
  const auto [ttft, e2e] = served_alone(doc, 512, 5);
  const ComparedPoint& p = c.points.at(0);
  EXPECT_DOUBLE_EQ(*p.measured.tpot_ms, 100.0);
  EXPECT_DOUBLE_EQ(*p.predicted_e2e_ms, 1e3 * e2e);
  EXPECT_DOUBLE_EQ(*p.predicted_tpot_ms, 1e3 * (e2e - ttft) / 4);
  EXPECT_EQ(p.predicted_itls_ms.size(), 4u);
  std::vector<std::string> metrics;
  for (const Distribution& d : c.aggregates.distributions) metrics.push_back(d.metric);
  EXPECT_EQ(metrics, (std::vector<std::string>{"ttft", "tpot", "itl", "e2e"}));
  EXPECT_DOUBLE_EQ(c.aggregates.distributions[3].measured.p99, 500.0);
}

TEST(CompareVllm, NonFiniteOrNegativeTimesNameTheEntry) {
  const auto error_of = [](const std::string& json) -> std::pair<std::string, std::string> {
    try {
      vllm("bad_times.json", json);
    } catch (const InputError& e) {
      return {e.pointer(), e.what()};
    }
    return {"", "no error"};
  };
  EXPECT_EQ(error_of(R"({"input_lens": [1], "ttfts": [-0.1]})").first, "/ttfts/0");
  EXPECT_EQ(error_of(R"({"input_lens": [1], "ttfts": [0.1], "latencies": [-2]})").first,
            "/latencies/0");
  EXPECT_EQ(error_of(R"({"input_lens": [1], "ttfts": [0.1], "itls": [[0.1, -1]]})").first,
            "/itls/0/1");
  // 1e400 is too large for a double: an input error naming the file (it used to be an
  // infinite TTFT, a NaN error, and a pass of every gate).
  const auto [pointer, message] = error_of(R"({"input_lens": [1, 2], "ttfts": [0.1, 1e400]})");
  EXPECT_NE(message.find("bad_times.json"), std::string::npos) << message;
  EXPECT_NE(message.find("number out of range"), std::string::npos) << message;
}

}  // namespace kvsim::compare
