// Bad plan files: each refused with an InputError naming the pointer and what would be valid.
#include <gtest/gtest.h>

#include "sim/core/input_error.hpp"
#include "tests/plan/plan_fixture.hpp"

namespace kvsim::plan {
namespace {

struct BadPlan {
  const char* pointer;  // where to change the valid chat plan
  const char* value;    // JSON
  const char* error_pointer;
  const char* message;
};

class PlanBadInput : public ::testing::TestWithParam<BadPlan> {};

TEST_P(PlanBadInput, IsRefusedAtItsPointer) {
  const BadPlan& b = GetParam();
  Json j = test::chat_plan();
  j[Json::json_pointer(b.pointer)] = Json::parse(b.value);
  try {
    load_plan(test::plan_document(j));
    FAIL() << "accepted " << b.pointer << " = " << b.value;
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), b.error_pointer) << e.what();
    EXPECT_NE(std::string(e.what()).find(b.message), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, PlanBadInput,
    ::testing::Values(
        BadPlan{"/workload/arrivals", R"({"type": "burst"})", "/workload/arrivals/type",
                "must be poisson, gamma or fixed"},
        BadPlan{"/slo/ttft_p95", R"("1s")", "/slo/ttft_p95", "unknown SLO 'ttft_p95'"},
        BadPlan{"/slo/ttft_p99", R"("fast")", "/slo/ttft_p99", ""},
        BadPlan{"/gpus", R"(["h100-sxn"])", "/gpus/0", "did you mean 'h100-sxm'"},
        BadPlan{"/gpus", R"(["mi300x"])", "/gpus/0", "no default price for 'mi300x'"},
        BadPlan{"/search/replicas", "[]", "/search/replicas", "non-empty array"},
        BadPlan{"/search/tensor_parallel", "[0]", "/search/tensor_parallel/0", "at least 1"},
        BadPlan{"/search/scheduler", R"(["vlm"])", "/search/scheduler/0", "did you mean 'vllm'"},
        BadPlan{"/search/utilization", "[1.5]", "/search/utilization/0", "must be in (0, 1]"},
        BadPlan{"/search/max_batch", "[8]", "/search/max_batch", "max_batch"},
        BadPlan{"/model", R"("llama-9")", "/model", "unknown model"},
        BadPlan{"/constraints/topology", R"("torus")", "/constraints/topology", "nvswitch"},
        BadPlan{"/pareto_metric", R"("cost")", "/pareto_metric", "ttft_p99"}));

}  // namespace
}  // namespace kvsim::plan
