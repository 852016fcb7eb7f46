// kvsim compare on end-to-end engine rows: the published tables read in place (medians of
// repeats, their outliers reported, the column and GPU-name mapping, the TPOT formula of a
// throughput), kvsim's CSV with precision, PP, output tokens and TPOT, a bad row naming its
// line, and a TPOT row predicted as the mean of the serving decode steps.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sim/compare/compare.hpp"
#include "sim/serving/iteration_cost.hpp"
#include "tests/core/error_of.hpp"
#include "tests/core/scratch_folder.hpp"

namespace kvsim::compare {
namespace {

// A file in a folder of this test's own (see compare_test.cpp).
std::string write(const std::string& name, const std::string& text) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir =
      scratch_folder(fmt::format("{}.{}", test->test_suite_name(), test->name()));
  const std::string path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

const std::string kSplitwiseHeader =
    "model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,"
    "token_time,e2e_time,tensor_parallel\n";

// A Splitwise run: e2e_time as if it generated `generated` tokens.
std::string run(double prompt, double token, int asked, double generated) {
  return fmt::format("bloom-176b,a100-80gb,512,2,{},0.9,0.6,{},{},{},8\n", asked, prompt, token,
                     prompt + (generated - 1) * token);
}

bool any_contains(const std::vector<std::string>& v, const std::string& part) {
  return std::any_of(v.begin(), v.end(),
                     [&](const std::string& s) { return s.find(part) != std::string::npos; });
}

}  // namespace

TEST(EngineRows, SplitwiseRepeatsBecomeOnePointOfMedians) {
  // Three runs of one configuration: TTFT 100, 130, 110 -> median 110, spread (130 - 100) /
  // 110 = 27.3% (> 10%: reported); TPOT 10, 12, 11 -> median 11 (spread 18.2%).
  const Measurements m = read_measurements(
      write("perf_model.csv", kSplitwiseHeader + run(100, 10, 128, 128) + run(130, 12, 128, 128) +
                                  run(110, 11, 128, 128)));
  ASSERT_EQ(m.points.size(), 1u);
  const MeasuredPoint& p = m.points[0];
  EXPECT_EQ(p.gpu, "a100-sxm4-80gb");  // Splitwise's a100-80gb
  EXPECT_EQ(p.precision, "fp16");
  EXPECT_EQ(p.engine, "splitwise");
  EXPECT_EQ(p.tp, 8);
  EXPECT_EQ(p.batch, 2);
  EXPECT_EQ(p.prompt_tokens, 512);
  EXPECT_EQ(p.output_tokens, 128);
  EXPECT_EQ(p.repeats, 3u);
  EXPECT_DOUBLE_EQ(p.ttft_ms, 110);
  ASSERT_TRUE(p.tpot_ms);
  EXPECT_DOUBLE_EQ(*p.tpot_ms, 11);
  EXPECT_NE(p.entry.find("line 2 (+2 repeats)"), std::string::npos) << p.entry;
  EXPECT_TRUE(any_contains(m.warnings, "the 3 runs' TTFT spread 27.3%")) << m.warnings.size();
  EXPECT_TRUE(any_contains(m.warnings, "the 3 runs' TPOT spread 18.2%"));
}

TEST(EngineRows, SplitwiseRunsThatStoppedEarlyAreReportedNotDropped) {
  // Two of three runs generated all 128 tokens (TPOT 10 and 12), one stopped at 40: the TPOT
  // is the median of the finished runs, (10 + 12) / 2 = 11, and a warning says so.
  Measurements m = read_measurements(write(
      "early.csv", kSplitwiseHeader + run(100, 10, 128, 128) + run(100, 12, 128, 128) +
                       run(100, 20, 128, 40)));
  EXPECT_DOUBLE_EQ(*m.points[0].tpot_ms, 11);
  EXPECT_EQ(m.points[0].output_tokens, 128);
  EXPECT_TRUE(any_contains(m.warnings, "1 of 3 runs stopped early")) << m.warnings.front();
  // Every run stopped early (at 30, 50 and 40 tokens): the TPOT is kept, over the median
  // run's 40 tokens.
  m = read_measurements(write("all-early.csv", kSplitwiseHeader + run(100, 10, 1024, 30) +
                                                   run(100, 10, 1024, 50) +
                                                   run(100, 10, 1024, 40)));
  EXPECT_DOUBLE_EQ(*m.points[0].tpot_ms, 10);
  EXPECT_EQ(m.points[0].output_tokens, 40);
  EXPECT_TRUE(any_contains(m.warnings, "every run did, so its TPOT is compared over the median "
                                       "run's 40 tokens"));
}

TEST(EngineRows, ABadSplitwiseRowNamesItsLine) {
  const std::string path =
      write("bad.csv", kSplitwiseHeader + run(100, 10, 128, 128) +
                           "bloom-176b,a100-80gb,512,1,128,0.9,0.6,100,abc,1000,8\n");
  const InputError e = error_of([&] { (void)read_measurements(path); });
  EXPECT_NE(std::string(e.what()).find("line 3: token_time is 'abc'"), std::string::npos)
      << e.what();
}

TEST(EngineRows, TrtllmDecodeThroughputGivesTheTpotAfterTheFirstToken) {
  const Measurements m = read_measurements(write(
      "trtllm_decode.csv",
      "model,gpu,precision,tp,batch,input_tokens,output_tokens,output_tokens_per_s,ttft_ms,"
      "engine,source\n"
      "gpt-j-6b,h200-sxm,fp8,1,64,128,128,10907,102,TensorRT-LLM v0.5,\"a blog, 2023\"\n"));
  ASSERT_EQ(m.points.size(), 1u);
  const MeasuredPoint& p = m.points[0];
  EXPECT_EQ(p.gpu, "h200");  // TensorRT-LLM's h200-sxm
  EXPECT_EQ(p.precision, "fp8");
  EXPECT_EQ(p.engine, "TensorRT-LLM v0.5");
  EXPECT_EQ(p.prompt_tokens, 128);
  EXPECT_DOUBLE_EQ(p.ttft_ms, 102);
  // 64 x 128 = 8192 tokens at 10907/s take 751.0782 ms; less the 102 ms prefill, over 127
  // decode iterations: 5.11085 ms.
  ASSERT_TRUE(p.tpot_ms);
  EXPECT_DOUBLE_EQ(*p.tpot_ms, (1e3 * 8192.0 / 10907.0 - 102.0) / 127.0);
}

TEST(EngineRows, KvsimCsvRowsCarryPrecisionPpOutputAndTpot) {
  const Measurements m = read_measurements(write(
      "rows.csv",
      "model,gpu,precision,tp,pp,batch,prompt_tokens,output_tokens,ttft_ms,tpot_ms,engine\n"
      "llama-2-7b,a100-sxm4-80gb,fp16,2,2,4,256,8,,10,vllm 0.6\n"
      "llama-2-7b,a100-sxm4-80gb,bf16,1,1,1,256,,30,,\n"));
  ASSERT_EQ(m.points.size(), 2u);
  EXPECT_FALSE(m.points[0].has_ttft);
  EXPECT_EQ(m.points[0].pp, 2);
  EXPECT_EQ(m.points[0].output_tokens, 8);
  EXPECT_DOUBLE_EQ(*m.points[0].tpot_ms, 10);
  EXPECT_EQ(m.points[0].engine, "vllm 0.6");
  EXPECT_TRUE(m.points[1].has_ttft);
  EXPECT_FALSE(m.points[1].tpot_ms);
  EXPECT_EQ(m.points[1].precision, "bf16");
  // Neither TTFT nor TPOT: refused, naming the line.
  const std::string bad = write("none.csv", "prompt_tokens,ttft_ms,tpot_ms\n128,,\n");
  EXPECT_NE(std::string(error_of([&] { (void)read_measurements(bad); }).what())
                .find("line 2: ttft_ms is ''"),
            std::string::npos);
  const std::string precision = write("p.csv", "prompt_tokens,ttft_ms,precision\n128,1,fp12\n");
  EXPECT_NE(std::string(error_of([&] { (void)read_measurements(precision); }).what())
                .find("line 2: precision is 'fp12'; valid values are"),
            std::string::npos);
}

TEST(EngineRows, KvsimJsonPointsCarryTheSameFields) {
  const Measurements m = read_measurements(write("rows.json", R"({
      "kind": "kvsim-ttft-measurements", "model": "gpt-j-6b", "gpu": "h200-sxm",
      "precision": "fp8", "engine": "TensorRT-LLM v0.9",
      "points": [
        {"tp": 2, "pp": 2, "batch": 8, "prompt_tokens": 128, "output_tokens": 64,
         "tpot_ms": 7.5},
        {"prompt_tokens": 2048, "ttft_ms": 23.5, "precision": "fp16", "engine": "other"}]})"));
  ASSERT_EQ(m.points.size(), 2u);
  const MeasuredPoint& a = m.points[0];
  EXPECT_EQ(a.gpu, "h200");
  EXPECT_EQ(a.precision, "fp8");
  EXPECT_EQ(a.engine, "TensorRT-LLM v0.9");
  EXPECT_EQ(a.pp, 2);
  EXPECT_EQ(a.output_tokens, 64);
  EXPECT_FALSE(a.has_ttft);
  EXPECT_DOUBLE_EQ(*a.tpot_ms, 7.5);
  EXPECT_EQ(m.points[1].precision, "fp16");
  EXPECT_EQ(m.points[1].engine, "other");
  EXPECT_DOUBLE_EQ(m.points[1].ttft_ms, 23.5);
  // A TPOT without its output length names the point.
  const std::string bad = write("bad.json", R"({"kind": "kvsim-ttft-measurements",
      "points": [{"prompt_tokens": 128, "tpot_ms": 7.5}]})");
  EXPECT_NE(std::string(error_of([&] { (void)read_measurements(bad); }).what()).find("/points/0"),
            std::string::npos);
}

TEST(EngineRows, WhereKeepsTheMatchingRowsAndSaysHowMany) {
  Measurements m = read_measurements(write(
      "rows.csv", "model,gpu,prompt_tokens,ttft_ms,engine\nllama-2-7b,h200-sxm,128,1,a\n"
                  "llama-2-7b,a100-sxm4-80gb,128,1,b\nllama-2-7b,h200,256,1,a\n"));
  m.warnings.push_back(m.points[1].entry + ": an outlier");  // about a point left out
  select(m, {parse_where("gpu=h200-sxm"), parse_where("engine=a")});
  EXPECT_FALSE(any_contains(m.warnings, "an outlier"));
  ASSERT_EQ(m.points.size(), 2u);
  EXPECT_TRUE(any_contains(m.warnings, "--where gpu=h200 engine=a: 2 of the 3 points"));
  EXPECT_THROW(select(m, {parse_where("tp=4")}), InputError);
  EXPECT_THROW((void)parse_where("colour=red"), InputError);
}

TEST(EngineRows, ATpotRowIsTheMeanOfTheServingDecodeSteps) {
  // One GPU, a static batch of B requests of p = 256 prompt tokens and n = 9 output tokens:
  // after the prefill, n - 1 = 8 decode iterations, step i decoding the B sequences at KV
  // length p + i. TPOT = (1/8) x sum_{i=1..8} cost(B decodes at KV p + i), each cost the
  // serving engine's IterationCost of that batch on one GPU (host overhead 0). B = 64 needs the
  // whole batch held at once: 64 x 4096-token reservations (Llama-2-7B's context) would not
  // fit 80 GB, 64 x (256 + 9) tokens do.
  const ConfigDocument doc =
      ConfigDocument::load_file(std::string(KVSIM_SOURCE_DIR) + "/scenarios/engines/dgx-a100.json");
  const Scenario s = load_scenario(doc);
  for (const std::int64_t batch : {4, 64}) {
    Measurements m;
    m.file = "synthetic";
    MeasuredPoint row;
    row.entry = "synthetic line 2";
    row.model = "llama-2-7b";
    row.batch = batch;
    row.prompt_tokens = 256;
    row.output_tokens = 9;
    row.ttft_ms = 100;
    row.tpot_ms = 10;
    m.points.push_back(row);
    const Comparison c = compare(doc, m, {});
    ASSERT_TRUE(c.points[0].predicted_tpot_ms);
    serving::IterationCost cost(s, 1);
    std::int64_t total_ns = 0;
    for (std::int64_t i = 1; i <= 8; ++i) {
      serving::IterationShape step;
      step.decodes.assign(static_cast<std::size_t>(batch), 256 + i);
      step.emitting = batch;
      total_ns += cost.single_gpu(step).count();
    }
    EXPECT_NEAR(*c.points[0].predicted_tpot_ms, 1e-6 * static_cast<double>(total_ns) / 8, 1e-9)
        << "batch " << batch;
    EXPECT_NEAR(*c.points[0].tpot_error, (*c.points[0].predicted_tpot_ms - 10) / 10, 1e-12);
    ASSERT_TRUE(c.aggregates.tpot);
    EXPECT_EQ(c.aggregates.tpot->points, 1u);
  }
}

TEST(EngineRows, RowsTheScenarioCannotExpressAreRefusedNamingTheRow) {
  const ConfigDocument doc =
      ConfigDocument::load_file(std::string(KVSIM_SOURCE_DIR) + "/scenarios/engines/dgx-a100.json");
  const auto refused = [&](const std::string& csv) {
    const Measurements m = read_measurements(write("rows.csv", csv));
    return std::string(error_of([&] { (void)compare(doc, m, {}); }).what());
  };
  const std::string header = "model,gpu,tp,pp,batch,prompt_tokens,output_tokens,ttft_ms,tpot_ms\n";
  // Llama-2-7B's 32 heads do not split over 3 GPUs.
  EXPECT_NE(refused(header + "llama-2-7b,a100-sxm4-80gb,3,1,2,128,8,1,1\n").find("line 2"),
            std::string::npos);
  // 4 x 4 = 16 GPUs on an 8-GPU server.
  EXPECT_NE(refused(header + "llama-2-7b,a100-sxm4-80gb,4,4,2,128,8,1,1\n").find("line 2"),
            std::string::npos);
  // Another GPU than the calibrated profile's: refused, pointing at --where.
  EXPECT_NE(refused(header + "llama-2-7b,h100-sxm,1,1,1,128,8,1,1\n").find("--where gpu=h100-sxm"),
            std::string::npos);
  // Not in the catalog: the model, the GPU.
  EXPECT_NE(refused(header + "llama-9-7b,a100-sxm4-80gb,1,1,1,128,8,1,1\n").find("line 2"),
            std::string::npos);
  EXPECT_NE(refused(header + "llama-2-7b,b900,1,1,1,128,8,1,1\n").find("line 2"),
            std::string::npos);
  // BLOOM-176B's 352 GB of fp16 weights on one 80 GB GPU.
  EXPECT_NE(refused(header + "bloom-176b,a100-sxm4-80gb,1,1,1,128,8,1,1\n").find("line 2"),
            std::string::npos);
}

}  // namespace kvsim::compare
