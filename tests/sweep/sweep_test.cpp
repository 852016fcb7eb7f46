// Sweep files: axes expand as a grid product (first axis slowest), zipped members move
// together, sampled axes come from the seed, and bad sweeps name the file and pointer.
#include <fstream>

#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include "sim/sweep/sweep.hpp"

namespace kvsim::sweep {
namespace {

const std::string kBase = std::string(KVSIM_SOURCE_DIR) + "/scenarios/paper/llama-2-7b-2xa100-300GBps.json";

SweepSpec parse(Json j) {
  j["base"] = kBase;
  return load_sweep(ConfigDocument(j, "sweep.json"));
}

TEST(Sweep, GridProductWithTheFirstAxisSlowest) {
  const SweepSpec s = parse(Json::parse(R"({
    "axes": [
      {"name": "context", "pointer": "/prefill/context_tokens", "values": [1024, 2048]},
      {"zip": [{"name": "gpus", "pointer": "/cluster/topology/gpus", "values": [2, 4, 8]},
               {"name": "bw", "pointer": "/cluster/topology/link/bandwidth",
                "values": ["10GB/s", "20GB/s", "30GB/s"]}]}
    ]})"));
  ASSERT_EQ(s.point_count(), 6u);
  EXPECT_EQ(s.columns, (std::vector<std::string>{"context", "gpus", "bw"}));
  const auto p4 = s.settings(4);  // context index 1, zip index 1
  EXPECT_EQ(p4[0].value, 2048);
  EXPECT_EQ(p4[1].value, 4);
  EXPECT_EQ(p4[2].value, "20GB/s");
  const Json doc = s.document(4).json();
  EXPECT_EQ(doc["prefill"]["context_tokens"], 2048);
  EXPECT_EQ(doc["cluster"]["topology"]["gpus"], 4);
}

TEST(Sweep, SampledAxesFollowTheSeed) {
  auto sampled = [](int seed) {
    Json j = Json::parse(R"({"axes": [{"sample": 5, "vary": [{"name": "bw",
      "pointer": "/cluster/topology/link/bandwidth", "distribution": "log-uniform",
      "min": 10, "max": 300, "unit": "GB/s"}]}]})");
    j["seed"] = seed;
    return parse(j);
  };
  const SweepSpec a = sampled(1);
  const SweepSpec b = sampled(1);
  const SweepSpec c = sampled(2);
  ASSERT_EQ(a.point_count(), 5u);
  bool differs = false;
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(a.settings(i)[0].value, b.settings(i)[0].value);
    differs = differs || a.settings(i)[0].value != c.settings(i)[0].value;
    const std::string v = a.settings(i)[0].value.get<std::string>();
    const double x = std::stod(v);
    EXPECT_TRUE(v.ends_with("GB/s"));
    EXPECT_GE(x, 10);
    EXPECT_LE(x, 300);
  }
  EXPECT_TRUE(differs);
}

TEST(Sweep, RunGivesTheSameCsvForAnyThreadCount) {
  const SweepSpec s = parse(Json::parse(R"({
    "axes": [{"name": "context", "pointer": "/prefill/context_tokens", "values": [512, 1024, 2048]}],
    "outputs": ["ttft_ms", "speedup", "partition"]})"));
  std::string serial;
  {
    tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
    serial = run_sweep(s, nullptr).csv();
  }
  const Table t = run_sweep(s, nullptr);
  EXPECT_EQ(t.csv(), serial);
  ASSERT_EQ(t.rows.size(), 3u);
  ASSERT_GE(t.column("tsp.speedup"), 0);
  EXPECT_EQ(t.rows[0][t.column("tsp.speedup")], "1.000000");
  // TTFT grows with the context.
  const int ttft = t.column("kvr/even.ttft_ms");
  EXPECT_LT(std::stod(t.rows[0][ttft]), std::stod(t.rows[2][ttft]));
}

TEST(Sweep, BadSweepsNameThePointer) {
  auto error_of = [](const std::string& text) -> std::pair<std::string, std::string> {
    try {
      parse(Json::parse(text));
    } catch (const InputError& e) {
      return {e.pointer(), e.message()};
    }
    return {"", "no error"};
  };
  auto [p1, m1] = error_of(R"({"axes": [{"zip": [
      {"name": "a", "pointer": "/prefill/context_tokens", "values": [1, 2]},
      {"name": "b", "pointer": "/cluster/topology/gpus", "values": [1]}]}]})");
  EXPECT_EQ(p1, "/axes/0/zip/1/values");
  EXPECT_NE(m1.find("same length"), std::string::npos);
  auto [p2, m2] = error_of(R"({"axes": [{"name": "a", "pointer": "/x", "values": [1]}],
      "outputs": ["ttft"]})");
  EXPECT_EQ(p2, "/outputs/0");
  EXPECT_NE(m2.find("ttft_ms"), std::string::npos);
  auto [p3, m3] = error_of(R"({"axes": [{"name": "a", "pointer": "x", "values": [1]}]})");
  EXPECT_EQ(p3, "/axes/0/pointer");
  // A point whose scenario is invalid names the sweep point.
  const SweepSpec bad = parse(Json::parse(
      R"({"axes": [{"name": "context", "pointer": "/prefill/context_tokens", "values": [1024, -5]}]})"));
  try {
    run_sweep(bad, nullptr);
    ADD_FAILURE() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(e.file().find("sweep point 1: context=-5"), std::string::npos) << e.what();
    EXPECT_EQ(e.pointer(), "/prefill/context_tokens");
  }
}

TEST(Sweep, WarningsOfAPointGoIntoTheCsvAndSummaryAndStrictRefusesThem) {
  // Llama-2-7B was trained to 4096 tokens: the 8192-token point warns, the 1024 one does not.
  const SweepSpec s = parse(Json::parse(
      R"({"axes": [{"name": "context", "pointer": "/prefill/context_tokens", "values": [1024, 8192]}]})"));
  const Table t = run_sweep(s, nullptr);
  const int w = t.column("warnings");
  ASSERT_EQ(w, static_cast<int>(t.columns.size()) - 1);
  EXPECT_EQ(t.rows[0][w], "");
  EXPECT_NE(t.rows[1][w].find("exceeds llama-2-7b's trained maximum of 4096"), std::string::npos);
  const Json summary = summarize(s, t);
  ASSERT_EQ(summary["warnings"].size(), 1u);
  EXPECT_EQ(summary["warnings"][0]["point"], 1);
  try {
    run_sweep(s, nullptr, true);
    ADD_FAILURE() << "expected --strict to refuse the warning";
  } catch (const InputError& e) {
    EXPECT_NE(e.file().find("sweep point 1: context=8192"), std::string::npos) << e.what();
    EXPECT_NE(e.message().find("--strict"), std::string::npos) << e.what();
  }
  // Without warnings there is no warnings column (committed sweep outputs keep their shape).
  const SweepSpec quiet = parse(Json::parse(
      R"({"axes": [{"name": "context", "pointer": "/prefill/context_tokens", "values": [1024]}]})"));
  EXPECT_EQ(run_sweep(quiet, nullptr).column("warnings"), -1);
}

TEST(Sweep, APointThatDoesNotFitTheGpusIsRefused) {
  // 65536 tokens, eager, on one A100 (single): the score matrix alone is 65536^2 x 32 heads x
  // 2 B = 256 GiB.
  const SweepSpec s = parse(Json::parse(
      R"({"axes": [{"name": "context", "pointer": "/prefill/context_tokens", "values": [1024, 65536]}]})"));
  try {
    run_sweep(s, nullptr);
    ADD_FAILURE() << "expected a memory error";
  } catch (const InputError& e) {
    EXPECT_NE(e.file().find("sweep point 1: context=65536"), std::string::npos) << e.what();
    EXPECT_EQ(e.pointer(), "/prefill/strategies/0");
    EXPECT_NE(e.message().find("eager score matrix alone is 256.0 GiB"), std::string::npos)
        << e.what();
  }
}

TEST(Sweep, CsvRoundTripsThroughTheReader) {
  Table t;
  t.columns = {"a", "b"};
  t.rows = {{"1", "x, \"y\""}, {"2", ""}};
  const std::string path = ::testing::TempDir() + "/kvsim_sweep_test.csv";
  {
    std::ofstream out(path);
    out << t.csv();
  }
  const Table back = read_csv(path);
  EXPECT_EQ(back.columns, t.columns);
  EXPECT_EQ(back.rows, t.rows);
}

}  // namespace
}  // namespace kvsim::sweep
