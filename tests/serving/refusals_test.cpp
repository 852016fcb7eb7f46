// Requests kvsim cannot serve as asked are never silently changed: longer than the context they
// are rejected and counted (as vLLM answers them with an error), truncated only where
// lengths.max_tokens asks for it, and undefined metrics are null, not 0. Bad workloads and
// impossible memory are input errors naming the file, the pointer and the line.
#include <fstream>

#include <gtest/gtest.h>

#include "serving/serving_run.hpp"

namespace kvsim::serving {
namespace {

// Requests with the given lengths, one a second, in order.
Json listed(const std::vector<std::int64_t>& prompts, const std::vector<std::int64_t>& outputs) {
  return Json{{"requests", prompts.size()},
              {"arrivals", {{"type", "fixed"}, {"rate", "1/s"}}},
              {"lengths", {{"type", "list"}, {"prompts", prompts}, {"outputs", outputs}}}};
}

// The InputError that running `run` raises (fails the test when there is none).
InputError error_of(ServingRun& run) {
  try {
    run.summary();
  } catch (const InputError& e) {
    return e;
  }
  ADD_FAILURE() << "expected an InputError";
  return InputError("", "", "");
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(ServingRefusals, RequestsLongerThanTheContextAreRejectedAndCountedNotTruncated) {
  // Llama-2-7B's context is 4,096 tokens: 200,000 + 10 is rejected; 4,000 + 96 = 4,096 fits.
  ServingRun run(Json{{"workload", listed({1000, 200000, 4000}, {10, 10, 96})}});
  const Json a = run.summary();
  EXPECT_EQ(a["requests"], 2);
  EXPECT_EQ(a["rejected"], 1);
  EXPECT_EQ(a["truncated"], 0);
  EXPECT_EQ(a["ttft"]["count"], 2);
  EXPECT_EQ(a["vllm_bench"]["completed"], 2);
  EXPECT_EQ(a["vllm_bench"]["failed"], 1);
  EXPECT_EQ(a["vllm_bench"]["total_input_tokens"], 5000);  // 1,000 + 4,000: never 4,095
  ASSERT_EQ(a["warnings"].size(), 1u);
  const std::string w = a["warnings"][0];
  EXPECT_TRUE(contains(w, "1 of 3 requests were rejected")) << w;
  EXPECT_TRUE(contains(w, "request 1 (/serving/workload/lengths/prompts/1): 200000 + 10")) << w;
  EXPECT_TRUE(contains(w, "4096-token context")) << w;
}

TEST(ServingRefusals, MaxTokensTruncatesOnlyWhenAskedAndCountsIt) {
  // max_tokens 4,096: 200,000 + 10 becomes 4,095 + 1 (the prompt keeps room for one output
  // token); 100 + 5 is untouched. Outputs: 1 + 5 = 6 tokens; one TPOT sample (the 5-token one).
  Json workload = listed({200000, 100}, {10, 5});
  workload["lengths"]["max_tokens"] = 4096;
  const Json a = ServingRun(Json{{"workload", workload}}).summary();
  EXPECT_EQ(a["requests"], 2);
  EXPECT_EQ(a["rejected"], 0);
  EXPECT_EQ(a["truncated"], 1);
  EXPECT_EQ(a["vllm_bench"]["total_input_tokens"], 4195);  // 4,095 + 100
  EXPECT_EQ(a["vllm_bench"]["total_output_tokens"], 6);
  EXPECT_EQ(a["tpot"]["count"], 1);
  ASSERT_EQ(a["warnings"].size(), 1u);
  EXPECT_TRUE(contains(a["warnings"][0], "1 of 2 requests were truncated to lengths.max_tokens, "
                                         "4096 tokens"))
      << a["warnings"][0];
}

TEST(ServingRefusals, UndefinedMetricsAreNullNotZero) {
  // One output token each: no request has a TPOT and no inter-token gap exists.
  const Json a = ServingRun(Json{{"workload", listed({100, 200}, {1, 1})}}).summary();
  EXPECT_EQ(a["requests"], 2);
  for (const char* metric : {"tpot", "itl"}) {
    EXPECT_EQ(a[metric]["count"], 0) << metric;
    for (const char* stat : {"mean_s", "p50_s", "p90_s", "p99_s", "max_s"}) {
      EXPECT_TRUE(a[metric][stat].is_null()) << metric << " " << stat << ": " << a[metric][stat];
    }
  }
  EXPECT_TRUE(a["vllm_bench"]["mean_tpot_ms"].is_null());
  EXPECT_FALSE(a["ttft"]["mean_s"].is_null());
  // Every request rejected: no latency is defined at all.
  const Json none = ServingRun(Json{{"workload", listed({5000}, {1})}}).summary();
  EXPECT_EQ(none["requests"], 0);
  EXPECT_EQ(none["rejected"], 1);
  EXPECT_TRUE(none["ttft"]["p99_s"].is_null());
  EXPECT_TRUE(none["e2e_latency"]["mean_s"].is_null());
}

TEST(ServingRefusals, MaxTokensMustLeaveRoomForAPromptAndAnOutputWithinTheContext) {
  for (const int max_tokens : {0, -5, 1, 5000}) {
    Json workload = listed({100}, {10});
    workload["lengths"]["max_tokens"] = max_tokens;
    ServingRun run(Json{{"workload", workload}});
    const InputError e = error_of(run);
    EXPECT_EQ(e.pointer(), "/serving/workload/lengths/max_tokens") << max_tokens;
    EXPECT_TRUE(contains(e.message(), max_tokens == 5000 ? "at most the model's context, 4096"
                                                         : "must be at least 2"))
        << e.what();
  }
}

TEST(ServingRefusals, AnUnsortedArrivalTraceIsAnInputErrorNamingTheLine) {
  // Line 4 (the third row) arrives before line 3: kvsim replays in file order and rejects it.
  const std::string trace = write("unsorted.csv",
                                  "arrived_at,num_prefill_tokens,num_decode_tokens\n"
                                  "0.0,100,10\n2.5,100,10\n1.0,100,10\n");
  ServingRun run(Json{{"workload", {{"arrivals", {{"type", "trace"}, {"file", trace}}},
                                    {"lengths", {{"type", "trace"}}}}}});
  const InputError e = error_of(run);
  EXPECT_EQ(e.pointer(), "/serving/workload/arrivals/file");
  EXPECT_TRUE(contains(e.message(), "line 4: arrived_at 1.0 is before line 3's 2.5")) << e.what();
}

TEST(ServingRefusals, TraceCellsMustBeWholeTokenCountsAndTimes) {
  for (const std::string row : {"0.0,abc,10", "0.0,100,0", "0.0,12.5,3", "-1,100,10",
                                 "0.0,100,99999999999"}) {
    const std::string trace =
        write("bad_cell.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,100,10\n" +
                                  row + "\n");
    ServingRun run(Json{{"workload", {{"arrivals", {{"type", "trace"}, {"file", trace}}},
                                      {"lengths", {{"type", "trace"}}}}}});
    const InputError e = error_of(run);
    EXPECT_EQ(e.pointer(), "/serving/workload/arrivals/file") << row;
    EXPECT_TRUE(contains(e.message(), "line 3: ")) << row << ": " << e.what();
  }
}

TEST(ServingRefusals, ARequestThatCanNeverFitIsAnInputErrorNamingItAndTheCapacity) {
  // 18% of an A100 leaves a few thousand KV tokens for Llama-2-7B: 3,000 + 1,000 never fits,
  // under every scheduler (paged memory grows until nothing can be preempted).
  for (const std::string& scheduler : schedulers().names()) {
    ServingRun run(Json{{"workload", listed({100, 3000, 200}, {5, 1000, 1})},
                        {"scheduler", {{"type", scheduler}}},
                        {"memory", {{"type", "paged"}, {"utilization", 0.18}}}});
    const InputError e = error_of(run);
    EXPECT_EQ(e.pointer(), "/serving/workload/lengths") << scheduler;
    EXPECT_TRUE(contains(e.message(), "request 1 (/serving/workload/lengths/prompts/1) (3000 "
                                      "prompt + 1000 output tokens) needs up to 4000 tokens of "
                                      "paged KV memory and can never fit the "))
        << scheduler << ": " << e.what();
  }
}

TEST(ServingRefusals, CountsThatSizeWorkOrMemoryAreBoundedBeforeUse) {
  const auto pointer_of = [](Json serving) {
    ServingRun run(std::move(serving));
    return error_of(run).pointer();
  };
  Json w = listed({100}, {10});
  Json many = w;
  many["requests"] = 1'000'000'000;  // past kMaxRequests (10^8)
  many["lengths"] = {{"type", "fixed"}, {"prompt", 100}, {"output", 10}};
  EXPECT_EQ(pointer_of(Json{{"workload", many}}), "/serving/workload/requests");
  EXPECT_EQ(pointer_of(Json{{"workload", w}, {"replicas", 1'000'000'000}}), "/serving/replicas");
  EXPECT_EQ(pointer_of(Json{{"workload", w}, {"tensor_parallel", 4294967296LL}}),
            "/serving/tensor_parallel");
  EXPECT_EQ(pointer_of(Json{{"workload", w},
                            {"memory", {{"type", "paged"}, {"block_size", 1LL << 40}}}}),
            "/serving/memory/block_size");
  EXPECT_EQ(pointer_of(Json{{"workload", w},
                            {"scheduler", {{"type", "vllm"}, {"swap_space", "1e30GiB"}}}}),
            "/serving/scheduler/swap_space");
  Json huge = w;
  huge["lengths"] = {{"type", "uniform"}, {"prompt_min", 1}, {"prompt_max", 1LL << 61},
                     {"output_min", 1}, {"output_max", 10}};
  EXPECT_EQ(pointer_of(Json{{"workload", huge}}), "/serving/workload/lengths/prompt_max");
  // A rate so low that arrivals pass the clock's range: an input error, not an overflow.
  Json slow = huge;
  slow["lengths"] = {{"type", "fixed"}, {"prompt", 100}, {"output", 10}};
  slow["requests"] = 3;
  slow["arrivals"] = {{"type", "fixed"}, {"rate", "1e-12/s"}};
  EXPECT_EQ(pointer_of(Json{{"workload", slow}}), "/serving/workload/arrivals/rate");
  // Lognormal tails far past the context are rejected like any long request, never overflowed.
  Json tail = w;
  tail["requests"] = 50;
  tail["lengths"] = {{"type", "lognormal"}, {"prompt_median", 1 << 29}, {"prompt_sigma", 10},
                     {"output_median", 10}, {"output_sigma", 0}};
  const Json a = ServingRun(Json{{"workload", tail}}).summary();
  EXPECT_EQ(a["requests"].get<int>() + a["rejected"].get<int>(), 50);
  EXPECT_GT(a["rejected"].get<int>(), 25);
}

}  // namespace kvsim::serving
