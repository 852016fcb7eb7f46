// kvsim compare: synthetic measurements with known errors give the expected aggregates and
// gate results; every input format is read; malformed files name the file and entry; rows at
// the points of a sweep are predicted by their strategy on their point.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sim/compare/compare.hpp"
#include "tests/core/scratch_folder.hpp"

namespace kvsim::compare {
namespace {

const std::string kScenario = std::string(KVSIM_SOURCE_DIR) + "/scenarios/default.json";

// A file in a folder of this test's own (the process id and the test's name): tests that run
// in parallel, or other checkouts sharing /tmp, never overwrite each other's files.
std::string write(const std::string& name, const std::string& text) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir =
      scratch_folder(fmt::format("{}.{}", test->test_suite_name(), test->name()));
  const std::string path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

// Measurements whose errors are exactly `errors`: measured = predicted / (1 + e).
Measurements with_errors(const ConfigDocument& doc, const std::vector<double>& errors) {
  Measurements m;
  m.file = "synthetic";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    MeasuredPoint p;
    p.entry = "synthetic " + std::to_string(i);
    p.prompt_tokens = 256 * static_cast<std::int64_t>(i + 1);
    p.ttft_ms = 1;
    m.points.push_back(p);
  }
  const Comparison c = compare(doc, m, {});
  for (std::size_t i = 0; i < errors.size(); ++i) {
    m.points[i].ttft_ms = c.points[i].predicted_ms / (1 + errors[i]);
  }
  return m;
}

}  // namespace

TEST(Compare, KnownErrorsGiveTheExpectedAggregates) {
  const ConfigDocument doc = ConfigDocument::load_file(kScenario);
  const Comparison c = compare(doc, with_errors(doc, {0.10, -0.04, 0.02, -0.20}), {});
  ASSERT_EQ(c.points.size(), 4u);
  EXPECT_NEAR(c.points[0].error, 0.10, 1e-12);
  EXPECT_NEAR(c.aggregates.mape, (0.10 + 0.04 + 0.02 + 0.20) / 4, 1e-12);
  EXPECT_NEAR(c.aggregates.median_ape, (0.04 + 0.10) / 2, 1e-12);
  EXPECT_NEAR(c.aggregates.bias, (0.10 - 0.04 + 0.02 - 0.20) / 4, 1e-12);
  EXPECT_NEAR(c.aggregates.worst, 0.20, 1e-12);
  EXPECT_EQ(c.aggregates.worst_entry, "synthetic 3");
}

TEST(Compare, GatesPassAndFailWithReasons) {
  const ConfigDocument doc = ConfigDocument::load_file(kScenario);
  const Comparison c = compare(doc, with_errors(doc, {0.10, -0.04, 0.02, -0.20}), {});
  Gates g;
  g.max_mape = 0.10;  // MAPE is 9%
  EXPECT_TRUE(check_gates(c, g).passed);
  g.max_mape = 0.08;
  GateResult r = check_gates(c, g);
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_NE(r.failures[0].find("9.00% exceeds --max-mape 8.00%"), std::string::npos);
  g.max_mape.reset();
  g.max_point_error = 0.15;
  r = check_gates(c, g);
  ASSERT_FALSE(r.passed);
  EXPECT_NE(r.failures[0].find("1 of 4 points exceed"), std::string::npos);
}

TEST(Compare, BaselineRegressionNeedsBothAbsoluteAndRelativeRise) {
  const ConfigDocument doc = ConfigDocument::load_file(kScenario);
  const Comparison before = compare(doc, with_errors(doc, {0.02, 0.02, 0.02, 0.02}), {});
  Gates g;
  g.baseline = to_json(before, GateResult{});
  g.max_point_error = 0.05;
  g.baseline_point_error = 0.05;
  // +0.5 points (2% -> 2.5%): relative +25% but below 1 point: no alert.
  EXPECT_TRUE(check_gates(compare(doc, with_errors(doc, {0.025, 0.025, 0.025, 0.025}), {}), g)
                  .passed);
  // 2% -> 3.5%: +1.5 points and +75%: alert. One point also crosses 5%.
  const GateResult r =
      check_gates(compare(doc, with_errors(doc, {0.02, 0.02, 0.02, 0.08}), {}), g);
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.failures.size(), 3u);  // point gate, MAPE regression, newly failing point
  EXPECT_NE(r.failures[1].find("rose from 2.00% (baseline) to 3.50%"), std::string::npos);
  EXPECT_NE(r.failures[2].find("1 points predicted within --baseline-point-error 5.00% in the "
                               "baseline"),
            std::string::npos);
}

TEST(Compare, ReadsKvsimJsonCsvAndVllmResults) {
  const Measurements j = read_measurements(write("m.json", R"({
    "kind": "kvsim-ttft-measurements", "ttft_from": "arrival", "model": "llama-2-7b",
    "points": [{"prompt_tokens": 128, "ttft_ms": 12.5},
               {"prompt_tokens": 256, "ttft_ms": 20, "tp": 2, "gpu": "a100-sxm4-80gb"}]})"));
  EXPECT_EQ(j.ttft_from, "arrival");
  ASSERT_EQ(j.points.size(), 2u);
  EXPECT_EQ(j.points[0].model, "llama-2-7b");
  EXPECT_EQ(j.points[1].tp, 2);
  const Measurements v = read_measurements(write("vllm.json", R"({
    "model_id": "meta-llama/Llama-2-7b-hf", "completed": 2, "request_throughput": 1.0,
    "input_lens": [100, 200, 300], "output_lens": [10, 10, 0],
    "ttfts": [0.05, 0.07, 0.0], "itls": [[], [], []]})"));
  EXPECT_EQ(v.ttft_from, "arrival");
  ASSERT_EQ(v.points.size(), 2u);  // the failed request (TTFT 0) is skipped
  EXPECT_DOUBLE_EQ(v.points[1].ttft_ms, 70);
  EXPECT_EQ(v.points[1].prompt_tokens, 200);
  const Measurements c = read_measurements(write("m.csv", "prompt_tokens,ttft_ms,batch\n512,40,2\n"));
  EXPECT_EQ(c.points[0].batch, 2);
}

TEST(Compare, MalformedFilesNameTheFileAndEntry) {
  auto message = [](const std::string& path) -> std::pair<std::string, std::string> {
    try {
      read_measurements(path);
    } catch (const InputError& e) {
      return {e.pointer(), e.what()};
    }
    return {"", "no error"};
  };
  auto [p1, m1] = message(write("bad.json", R"({"kind": "kvsim-ttft-measurements",
      "points": [{"prompt_tokens": 128, "ttft_ms": 1}, {"prompt_tokens": 128}]})"));
  EXPECT_EQ(p1, "/points/1");
  EXPECT_NE(m1.find("ttft_ms"), std::string::npos);
  auto [p2, m2] = message(write("bad.csv", "prompt_tokens,ttft_ms\n128,fast\n"));
  EXPECT_NE(m2.find("bad.csv"), std::string::npos);
  EXPECT_NE(m2.find("line 2"), std::string::npos);
  auto [p3, m3] = message(write("other.json", R"({"results": []})"));
  EXPECT_NE(m3.find("unrecognised measurement file"), std::string::npos);
  // A point the scenario cannot express names the point.
  const ConfigDocument doc = ConfigDocument::load_file(kScenario);
  Measurements m;
  m.file = "x";
  MeasuredPoint p;
  p.entry = "x line 2";
  p.model = "no-such-model";
  p.prompt_tokens = 128;
  p.ttft_ms = 10;
  m.points.push_back(p);
  try {
    compare(doc, m, {});
    ADD_FAILURE() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("x line 2"), std::string::npos) << e.what();
  }
}

namespace {

// A vllm bench serve result of `n` requests of `prompt` tokens and one output token each, all
// measured at `ttft_ms`.
std::string vllm_result(int n, int prompt, const std::string& rate, const std::string& extra) {
  std::string lens, outs, ttfts;
  for (int i = 0; i < n; ++i) {
    const std::string sep = i ? ", " : "";
    lens += sep + std::to_string(prompt);
    outs += sep + "1";
    ttfts += sep + "0.1";
  }
  return R"({"request_rate": )" + rate + extra + R"(, "input_lens": [)" + lens +
         R"(], "output_lens": [)" + outs + R"(], "ttfts": [)" + ttfts + "]}";
}

ConfigDocument serving_scenario(const std::string& scheduler) {
  ConfigDocument doc = ConfigDocument::load_file(kScenario);
  Json j = doc.json();
  j["serving"] = {{"host_overhead", "0us"},
                  {"scheduler", Json::parse(scheduler)},
                  {"workload", {{"requests", 1}, {"arrivals", {{"type", "burst"}}},
                                {"lengths", {{"type", "fixed"}, {"prompt", 1}, {"output", 1}}}}}};
  return ConfigDocument(j, kScenario);
}

}  // namespace

TEST(Compare, QueueingReplaysTheBenchmarkThroughTheServingSimulation) {
  // Eight 1024-token requests sent at once to a server that runs one at a time: request i waits
  // for the i before it, so its TTFT is (i + 1) prefills, each equal to a lone request's (to the
  // nanosecond rounding of each kernel's time: within 20 ns per prefill).
  const ConfigDocument doc =
      serving_scenario(R"({"type": "static", "max_batch_size": 1})");
  const Measurements burst = read_measurements(write("burst.json", vllm_result(8, 1024, R"("inf")", "")));
  ASSERT_TRUE(burst.run);
  EXPECT_EQ(*burst.run->request_rate, 0.0);
  CompareOptions queueing;
  queueing.queueing = true;
  const Comparison c = compare(doc, burst, queueing);
  const Comparison alone = compare(doc, burst, {});
  ASSERT_EQ(c.points.size(), 8u);
  const double lone = alone.points[0].predicted_ms;
  for (std::size_t i = 0; i < 8; ++i) {
    const double n = static_cast<double>(i + 1);
    EXPECT_NEAR(c.points[i].predicted_ms, n * lone, n * 2e-5) << i;
  }
  EXPECT_NEAR(c.aggregates.ttft().predicted.mean, 4.5 * lone, 8 * 2e-5);
  EXPECT_DOUBLE_EQ(c.aggregates.ttft().measured.p99, 100.0);
  EXPECT_NE(c.method.find("all sent at once"), std::string::npos);

  // At one request every 1000 s nobody waits: the replay predicts the lone request's TTFT.
  const Measurements slow = read_measurements(write("slow.json", vllm_result(5, 1024, "0.001", "")));
  const Comparison s = compare(doc, slow, queueing);
  for (const auto& p : s.points) EXPECT_NEAR(p.predicted_ms, lone, 2e-5);
}

TEST(Compare, QueueingRefusesWhatItCannotReplay) {
  CompareOptions queueing;
  queueing.queueing = true;
  auto pointer_of = [&](const ConfigDocument& doc, const std::string& text) {
    try {
      compare(doc, read_measurements(write("refused.json", text)), queueing);
    } catch (const InputError& e) {
      return e.pointer();
    }
    return std::string("no error");
  };
  const ConfigDocument doc = serving_scenario(R"({"type": "vllm"})");
  // Neither start_times nor a request rate: no arrival process to replay.
  EXPECT_EQ(pointer_of(doc, R"({"input_lens": [128], "ttfts": [0.1]})"), "/request_rate");
  // The scenario needs a serving section to replay on.
  EXPECT_EQ(pointer_of(ConfigDocument::load_file(kScenario), vllm_result(4, 128, "10", "")),
            "/serving");
}

TEST(Compare, BatchesOnTensorParallelGroupsRunThroughTheServingEngine) {
  const ConfigDocument doc = ConfigDocument::load_file(kScenario);
  Measurements m;
  m.file = "synthetic";
  for (const std::int64_t batch : {1, 4}) {
    MeasuredPoint p;
    p.entry = "batch " + std::to_string(batch);
    p.tp = 2;
    p.batch = batch;
    p.prompt_tokens = 1024;
    p.ttft_ms = 1;
    m.points.push_back(p);
  }
  const Comparison c = compare(doc, m, {});
  // Four prompts take longer than one, and less than four times as long (the weights are read
  // once per layer for the whole batch).
  EXPECT_GT(c.points[1].predicted_ms, 1.5 * c.points[0].predicted_ms);
  EXPECT_LT(c.points[1].predicted_ms, 4.0 * c.points[0].predicted_ms);
}

}  // namespace kvsim::compare

namespace kvsim::compare {
namespace {

// Two strategies over a 2 x 2 grid: gpus 2, 4 (slowest) by context 1024, 2048.
sweep::SweepSpec small_sweep() {
  const std::string path = write("small_sweep.json", R"({
    "name": "small",
    "base": ")" + std::string(KVSIM_SOURCE_DIR) +
                                 R"(/scenarios/paper/llama-2-7b-8xa100-10GBps.json",
    "set": { "/prefill/strategies": [ { "type": "tsp" },
                                      { "type": "kvr", "partitioner": { "type": "even" } } ] },
    "axes": [ { "name": "gpus", "pointer": "/cluster/topology/gpus", "values": [2, 4] },
              { "name": "context", "pointer": "/prefill/context_tokens",
                "values": [1024, 2048] } ] })");
  return sweep::load_sweep(ConfigDocument::load_file(path));
}

// The TTFT (ms) of strategy `k` at sweep point `index`, run directly.
double direct_ttft(const sweep::SweepSpec& spec, std::size_t index, std::size_t k) {
  const Scenario s = load_scenario(spec.document(index));
  return to_ms(s.prefill->strategies[k]->run(s.prefill_setup(), false).ttft);
}

std::string sweep_error(const sweep::SweepSpec& spec, const std::string& csv) {
  try {
    compare_sweep(spec, read_sweep_measurements(write("sweep_rows.csv", csv), spec), {});
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(CompareSweep, EachRowIsPredictedByItsStrategyOnItsPoint) {
  const sweep::SweepSpec spec = small_sweep();
  const double tsp_4_2048 = direct_ttft(spec, 3, 0);
  const double kvr_2_1024 = direct_ttft(spec, 0, 1);
  // Columns in any order; numbers match by value (2048.0 is 2048); a row without a strategy
  // is predicted by the point's first (tsp).
  const std::string csv = fmt::format(
      "strategy,ttft_ms,context,gpus\nkvr/even,{},1024,2\n,{},2048.0,4\ntsp,{},2048,4\n",
      kvr_2_1024 / 1.10, tsp_4_2048 / 0.95, tsp_4_2048);
  const Measurements m = read_sweep_measurements(write("sweep_rows.csv", csv), spec);
  const Comparison c = compare_sweep(spec, m, {});
  ASSERT_EQ(c.points.size(), 3u);
  EXPECT_NEAR(c.points[0].error, 0.10, 1e-6);
  EXPECT_NEAR(c.points[1].error, -0.05, 1e-6);
  EXPECT_NEAR(c.points[2].error, 0.0, 1e-6);
  EXPECT_EQ(c.points[1].measured.strategy, "tsp");
  EXPECT_EQ(c.points[1].measured.tp, 4);
  EXPECT_EQ(c.points[1].measured.prompt_tokens, 2048);
  EXPECT_EQ(point_key(c.points[0].measured), "sweep|gpus=2|context=1024|kvr/even");
  EXPECT_NE(c.method.find("2 points"), std::string::npos);

  // --strategy picks the strategy of rows without one.
  CompareOptions kvr;
  kvr.strategy = "kvr/even";
  EXPECT_NEAR(compare_sweep(spec, m, kvr).points[1].predicted_ms, direct_ttft(spec, 3, 1), 1e-9);

  // A baseline of sweep points: a point that drifts past the threshold is named.
  Gates g;
  g.max_point_error = 0.12;
  g.baseline = to_json(c, GateResult{});
  Measurements drifted = m;
  drifted.points[2].ttft_ms = tsp_4_2048 / 1.2;
  const GateResult r = check_gates(compare_sweep(spec, drifted, {}), g);
  ASSERT_FALSE(r.passed);
  EXPECT_NE(r.failures.back().find("sweep_rows.csv line 4 (+20.00%, was 0.00%)"),
            std::string::npos)
      << r.failures.back();
}

TEST(CompareSweep, RowsThatMatchNoPointOrStrategyNameTheLine) {
  const sweep::SweepSpec spec = small_sweep();
  std::string e = sweep_error(spec, "gpus,context,ttft_ms\n2,1024,10\n3,1024,10\n");
  EXPECT_NE(e.find("sweep_rows.csv"), std::string::npos) << e;
  EXPECT_NE(e.find("line 3: gpus is '3', which sweep small does not take (it takes 2, 4)"),
            std::string::npos)
      << e;
  e = sweep_error(spec, "gpus,context,strategy,ttft_ms\n2,1024,kvr/search,10\n");
  EXPECT_NE(e.find("line 2: strategy 'kvr/search' is not one of the point's strategies (tsp, "
                   "kvr/even)"),
            std::string::npos)
      << e;
  e = sweep_error(spec, "gpus,context,ttft_ms,bandwidth\n2,1024,10,10GB/s\n");
  EXPECT_NE(e.find("unknown column 'bandwidth'; measurements for sweep small have the sweep's "
                   "columns (gpus, context)"),
            std::string::npos)
      << e;
  e = sweep_error(spec, "gpus,ttft_ms\n2,10\n");
  EXPECT_NE(e.find("missing column 'context'"), std::string::npos) << e;
  e = sweep_error(spec, "gpus,context,ttft_ms\n2,1024,-1\n");
  EXPECT_NE(e.find("line 2: ttft_ms is '-1', not a positive finite number"), std::string::npos)
      << e;
}

}  // namespace kvsim::compare
