// Bad values on the layout axes of a plan (search.layout, search.disaggregated, search.drafter,
// search.draft_tokens): each refused when the plan is read, naming its pointer and what would
// be valid, before any candidate is screened.
#include <gtest/gtest.h>

#include "sim/core/input_error.hpp"
#include "tests/plan/plan_fixture.hpp"

namespace kvsim::plan {
namespace {

struct BadAxes {
  const char* patch;  // JSON object: pointer -> value, set on the valid chat plan
  const char* error_pointer;
  const char* message;
};

class PlanAxesBadInput : public ::testing::TestWithParam<BadAxes> {};

TEST_P(PlanAxesBadInput, IsRefusedAtItsPointer) {
  const BadAxes& b = GetParam();
  Json j = test::chat_plan();
  const Json patch = Json::parse(b.patch);
  for (const auto& [pointer, value] : patch.items()) j[Json::json_pointer(pointer)] = value;
  try {
    load_plan(test::plan_document(j));
    FAIL() << "accepted " << b.patch;
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), b.error_pointer) << e.what();
    EXPECT_NE(std::string(e.what()).find(b.message), std::string::npos) << e.what();
  }
}

// Each case but the layout's own asks for both layouts, so that the disaggregated axes count.
#define BOTH R"("/search/layout": ["colocated", "disaggregated"], )"

INSTANTIATE_TEST_SUITE_P(
    Table, PlanAxesBadInput,
    ::testing::Values(
        BadAxes{R"({"/search/layout": ["split"]})", "/search/layout/0", "disaggregated"},
        BadAxes{R"({"/search/layout": ["colocated", "colocated"]})", "/search/layout/1",
                "given twice"},
        BadAxes{R"({"/search/disaggregated": {}})", "/search/disaggregated",
                "add it there"},
        BadAxes{"{" BOTH R"("/search/disaggregated/prefill/strategy": [{"type": "kvx"}]})",
                "/search/disaggregated/prefill/strategy/0/type", "kvr"},
        BadAxes{"{" BOTH R"("/search/disaggregated/prefill/strategy": ["tp"]})",
                "/search/disaggregated/prefill/strategy/0", "prefill strategy object"},
        BadAxes{"{" BOTH R"("/search/disaggregated/prefill/gpus": [0]})",
                "/search/disaggregated/prefill/gpus/0", "at least 1"},
        BadAxes{"{" BOTH R"("/search/disaggregated/prefill/instances": [5000]})",
                "/search/disaggregated/prefill/instances/0", "at most 4096"},
        BadAxes{"{" BOTH R"("/search/disaggregated/prefill/instance": [2]})",
                "/search/disaggregated/prefill/instance", "instances"},
        BadAxes{"{" BOTH R"("/search/disaggregated/decode/tensor_parallel": []})",
                "/search/disaggregated/decode/tensor_parallel", "non-empty array"},
        BadAxes{"{" BOTH R"("/search/disaggregated/transfer": ["chunked"]})",
                "/search/disaggregated/transfer/0", "layerwise"},
        BadAxes{"{" BOTH R"("/search/disaggregated/policy": ["random"]})",
                "/search/disaggregated/policy/0", "round-robin"},
        BadAxes{R"({"/search/drafter": [{"type": "eagle", "acceptance": 0.7}]})",
                "/search/drafter/0", "/search/draft_tokens"},
        BadAxes{R"({"/search/drafter": ["eagle"]})", "/search/drafter/0", "\"none\" or a drafter"},
        BadAxes{R"({"/search/drafter": [{"type": "eagel", "k": 2, "acceptance": 0.7}]})",
                "/search/drafter/0/type", "eagle"},
        BadAxes{R"({"/search/drafter": [{"type": "eagle", "k": 2, "acceptance": 1.5}]})",
                "/search/drafter/0/acceptance", ""},
        BadAxes{R"({"/search/drafter": [{"type": "eagle", "acceptance": 0.7}],
                    "/search/draft_tokens": [65]})",
                "/search/draft_tokens/0", "at most 64"},
        BadAxes{R"({"/search/draft_tokens": [2]})", "/search/draft_tokens",
                "needs /search/drafter"},
        BadAxes{R"({"/search/layout": ["disaggregated"], "/search/drafter": ["none"]})",
                "/search/drafter", "colocated layouts only"}));

#undef BOTH

}  // namespace
}  // namespace kvsim::plan
