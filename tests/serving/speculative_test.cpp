// Speculative decoding: the closed forms (mean tokens per step, and TPOT from the draft and
// verify costs as Leviathan et al., ICML 2023, write it), the conformance of every drafter with
// every scheduler and memory manager, and the refusals.
#include <cmath>

#include <gtest/gtest.h>

#include "sim/core/event_queue.hpp"
#include "sim/core/input_error.hpp"
#include "sim/serving/engine.hpp"
#include "sim/serving/speculative/baseline.hpp"
#include "sim/serving/speculative/pass_cost.hpp"
#include "sim/serving/speculative/spec_step.hpp"
#include "sim/serving/speculative/speculation.hpp"

namespace kvsim::serving::speculative {
namespace {

// Llama-3-8B on one H100 (roofline), serving `workload` one request at a time unless
// `scheduler` says otherwise, drafting with `drafter`.
struct SpecRun {
  ConfigDocument doc;
  Scenario scenario;
  explicit SpecRun(Json serving, Json decode = nullptr)
      : doc(make(std::move(serving), std::move(decode)), "spec.json"),
        scenario(load_scenario(doc)) {}
  static Json make(Json serving, Json decode) {
    Json j{{"model", "llama-3-8b"},
           {"cluster", {{"gpu", "h100-sxm"}, {"topology", {{"type", "nvswitch"}, {"gpus", 8}, {"link", {{"bandwidth", "450GB/s"}, {"latency", "1us"}}}}}}},
           {"compute", {{"type", "roofline"}}}};
    if (!serving.is_null()) j["serving"] = std::move(serving);
    if (!decode.is_null()) j["decode"] = std::move(decode);
    return j;
  }
  Json summary() {
    const ConfigNode node = doc.root().at("serving");
    ServingSetup setup = ServingSetup::from_config(node, scenario);
    Workload w(node.at("workload"), RandomStreams(scenario.seed), scenario.model.max_context);
    return simulate_serving(scenario, setup, std::move(w)).summary;
  }
};

Json sequential(int requests, std::int64_t prompt, std::int64_t output, Json drafter) {
  return Json{{"workload", {{"requests", requests},
                            {"arrivals", {{"type", "fixed"}, {"rate", "1/s"}}},
                            {"lengths", {{"type", "fixed"}, {"prompt", prompt},
                                         {"output", output}}}}},
              {"scheduler", {{"type", "vllm"}, {"max_batch_size", 1}}},
              {"drafter", std::move(drafter)}};
}

// Mean and variance of a step's tokens n + 1 with k drafts at rate a: P(n) = a^n (1 - a) for
// n < k, a^k for n = k.
std::pair<double, double> tokens_distribution(double a, int k) {
  double mean = 0, square = 0;
  for (int n = 0; n <= k; ++n) {
    const double p = n < k ? std::pow(a, n) * (1 - a) : std::pow(a, k);
    mean += p * (n + 1);
    square += p * (n + 1) * (n + 1);
  }
  return {mean, square - mean * mean};
}

}  // namespace

TEST(Speculative, MeanTokensPerStepIsTheClosedFormWithinSamplingError) {
  // Batch 1, fixed rate a = 0.6, k = 4: E = (1 - a^(k+1)) / (1 - a) = (1 - 0.07776) / 0.4
  // = 2.3056 tokens per step. 40 requests of 1001 output tokens give ~17,000 steps that propose
  // all k drafts; the mean of those must lie within 5 standard errors sqrt(var / n).
  const double a = 0.6;
  const int k = 4;
  SpecRun run(sequential(40, 16, 1001, {{"type", "eagle"}, {"k", k}, {"acceptance", a}}));
  const Json spec = run.summary()["speculative"];
  const double closed = (1 - std::pow(a, k + 1)) / (1 - a);
  const auto [mean, var] = tokens_distribution(a, k);
  ASSERT_NEAR(mean, closed, 1e-12);  // the distribution is the one the closed form sums
  const double n = spec["full_steps"].get<double>();
  ASSERT_GT(n, 15000);
  const double se = std::sqrt(var / n);
  EXPECT_NEAR(spec["mean_acceptance_length"].get<double>(), closed, 5 * se);
  EXPECT_NEAR(spec["expected_acceptance_length"].get<double>(), closed, 1e-12);
  EXPECT_NEAR(spec["acceptance_length_standard_error"].get<double>(), se, 0.1 * se);
  // Draft acceptance: accepted / proposed drafts = (E - 1) / k within sampling error.
  EXPECT_NEAR(spec["draft_acceptance_rate"].get<double>(), (closed - 1) / k, 0.02);
}

TEST(Speculative, APerPositionProfileAndClassesGiveTheirExpectations) {
  // Profile (0.9, 0.7, 0.5): E = 1 + 0.9 + 0.9*0.7 + 0.9*0.7*0.5 = 2.845. Classes 30% at a
  // fixed 0.8 (E = 1 + 0.8 + 0.64 + 0.512 = 2.952) and 70% at the profile: 0.3 * 2.952 +
  // 0.7 * 2.845 = 2.8771.
  const Json profile = Json::array({0.9, 0.7, 0.5});
  const Json classes = {{"classes", {{{"share", 0.3}, {"acceptance", 0.8}},
                                     {{"share", 0.7}, {"acceptance", profile}}}}};
  for (const auto& [acceptance, expected] :
       std::vector<std::pair<Json, double>>{{profile, 2.845}, {classes, 2.8771}}) {
    SpecRun run(sequential(60, 16, 1001, {{"type", "eagle"}, {"k", 3}, {"acceptance", acceptance}}));
    const Json spec = run.summary()["speculative"];
    EXPECT_NEAR(spec["expected_acceptance_length"].get<double>(), expected, 1e-12);
    const double se = spec["acceptance_length_standard_error"].get<double>();
    EXPECT_NEAR(spec["mean_acceptance_length"].get<double>(), expected, 5 * se)
        << acceptance.dump();
  }
}

TEST(Speculative, TpotOfALoneRequestIsTheDraftAndVerifyCostsOverTheTokensPerStep) {
  // Acceptance 1 (deterministic): every step keeps its k = 3 drafts and emits k + 1 = 4
  // tokens. Output 1 + 5 x 4 = 21 tokens: the prefill emits the first, then 5 steps. Step i
  // runs at cached_i = 100 + 4i tokens: draft passes at KV lengths cached_i + 1 .. + 3, then a
  // verify of 4 tokens after cached_i. TPOT = sum_i (draft_i + verify_i) / 20, which is
  // Leviathan et al.'s walltime per token (k T_draft + T_verify) / E with E = k + 1 = 4.
  const int k = 3;
  for (const Json& drafter :
       {Json{{"type", "eagle"}, {"k", k}, {"acceptance", 1.0}},
        Json{{"type", "draft-model"}, {"model", "llama-3.2-1b"}, {"k", k}, {"acceptance", 1.0}},
        Json{{"type", "mtp"}, {"k", k}, {"acceptance", 1.0}}}) {
    SpecRun run(sequential(1, 100, 21, drafter));
    const Json summary = run.summary();
    const auto d = drafters().create(ConfigNode(&drafter, "t", Json::json_pointer()), run.scenario);
    EventQueue queue;
    Communication comm(run.scenario, false, queue);
    Duration total{0};
    for (int i = 0; i < 5; ++i) {
      const std::int64_t cached = 100 + 4 * i;
      total += d->draft_time({{}, {cached + 1}, {k}}, {0}, comm);
      IterationShape shape;
      shape.emitting = k + 1;
      const std::vector<Chunk> verify{{k + 1, cached + k + 1}};
      total += pass_time(price_pass(run.scenario, run.scenario.model, 1, shape, 0, verify), 32,
                         true, {0}, k + 1, comm);
    }
    EXPECT_DOUBLE_EQ(summary["tpot"]["mean_s"].get<double>(), to_seconds(total) / 20)
        << drafter.dump();
    EXPECT_EQ(summary["speculative"]["steps"], 5);
    EXPECT_EQ(summary["speculative"]["mean_tokens_per_step"], 4.0);
    EXPECT_EQ(summary["itl"]["count"], 5) << "one inter-token gap per step";
  }
}

TEST(Speculative, RunsDecodeStepIsLeviathansExpressionFromItsCosts) {
  // Batch 1 at 2048 tokens, k = 4 at a = 0.7: E = (1 - 0.7^5) / 0.3 = 2.7731; TPOT =
  // (draft + verify) / E exactly; with c = draft / (k plain), Leviathan's speed-up is
  // E / (k c + 1).
  const Json drafter{{"type", "draft-model"}, {"model", "llama-3.2-1b"}, {"k", 4},
                     {"acceptance", 0.7}};
  SpecRun run(nullptr, {{"batch_size", 1}, {"context_tokens", 2048}, {"drafter", drafter}});
  const auto d = decode_drafter(run.scenario);
  const SpeculativeStep p = speculative_step(run.scenario, *d);
  const double e = (1 - std::pow(0.7, 5)) / 0.3;
  EXPECT_NEAR(p.tokens_per_step, e, 1e-12);
  EXPECT_DOUBLE_EQ(p.tpot_s, to_seconds(p.draft + p.verify) / e);
  const double c = to_seconds(p.draft) / 4 / to_seconds(p.plain);
  EXPECT_DOUBLE_EQ(p.leviathan_speedup, e / (4 * c + 1));
  EXPECT_EQ(p.verify_tokens, 5);
  EXPECT_GT(p.speedup, 1.0) << "a 1B drafter at batch 1 is memory-bound: a gain";
  EXPECT_GT(p.verify, p.plain) << "verifying 5 tokens costs more than decoding 1";
}

TEST(Speculative, TheGainShrinksAsTheVerifyPassBecomesComputeBound) {
  // At batch 1 the target's step is weight-bound, so 5 tokens verify for little more than
  // one; at batch 256 its GEMMs are compute-bound at 5 x 256 rows and, with a short context
  // (128 tokens, so that reading the KV cache, which the verify pass shares, does not dominate),
  // speculation loses.
  const Json drafter{{"type", "eagle"}, {"k", 4}, {"acceptance", 0.7}};
  double previous = 1e9;
  for (const int batch : {1, 16, 64, 256}) {
    SpecRun run(nullptr, {{"batch_size", batch}, {"context_tokens", 128}, {"drafter", drafter}});
    const double speedup = speculative_step(run.scenario, *decode_drafter(run.scenario)).speedup;
    EXPECT_LT(speedup, previous) << "batch " << batch;
    previous = speedup;
  }
  EXPECT_LT(previous, 1.0) << "batch 256 is slower with speculation";
}

TEST(Speculative, ATreeVerifiesItsNodesAndAcceptsMore) {
  // Width 2, depth 3: 1 + 2 + 4 + 8 = 15 tokens verified; a position is accepted with
  // 1 - (1 - 0.5)^2 = 0.75, so E = 1 + 0.75 + 0.5625 + 0.421875 = 2.734375.
  const Json drafter{{"type", "eagle"}, {"k", 3}, {"acceptance", 0.5}, {"tree_width", 2}};
  SpecRun run(nullptr, {{"batch_size", 1}, {"context_tokens", 1024}, {"drafter", drafter}});
  const SpeculativeStep p = speculative_step(run.scenario, *decode_drafter(run.scenario));
  EXPECT_EQ(p.verify_tokens, 15);
  EXPECT_NEAR(p.tokens_per_step, 2.734375, 1e-12);
}

TEST(Speculative, RunWarnsWhenTheDrafterDoesNotFitBesideTheTarget) {
  // Batch 48 at 8,192 tokens on an H100 (72 GiB usable): Llama-3-8B's 14.96 GiB of weights and
  // 48 x 8192 x 128 KiB = 48 GiB of KV fit; Llama-3.2-1B's 2.30 GiB and 48 x 8192 x 32 KiB =
  // 12 GiB more do not. At batch 8 they do.
  const Json drafter{{"type", "draft-model"}, {"model", "llama-3.2-1b"}, {"k", 4},
                     {"acceptance", 0.7}};
  SpecRun full(nullptr, {{"batch_size", 48}, {"context_tokens", 8192}, {"drafter", drafter}});
  const auto warning = drafter_memory_warning(full.scenario, *decode_drafter(full.scenario));
  ASSERT_TRUE(warning.has_value());
  EXPECT_NE(warning->find("/decode/drafter"), std::string::npos) << *warning;
  SpecRun small(nullptr, {{"batch_size", 8}, {"context_tokens", 8192}, {"drafter", drafter}});
  EXPECT_FALSE(drafter_memory_warning(small.scenario, *decode_drafter(small.scenario)));
}

TEST(Speculative, TheSpeedUpIsAgainstTheSameRunWithoutTheDrafter) {
  // add_baseline runs the scenario again without "drafter": its TPOT must be that of a run
  // whose serving section never had one, and the speed-ups the ratios of the two summaries.
  Json serving = sequential(20, 128, 64, {{"type", "eagle"}, {"k", 4}, {"acceptance", 0.7}});
  serving["workload"]["arrivals"] = {{"type", "poisson"}, {"rate", "20/s"}};
  serving["scheduler"]["max_batch_size"] = 8;
  SpecRun spec(serving);
  Json summary = spec.summary();
  add_baseline(spec.scenario, spec.doc.root().at("serving"), summary);
  serving.erase("drafter");
  const Json plain = SpecRun(serving).summary();
  const Json& s = summary["speculative"];
  EXPECT_EQ(s["baseline"]["tpot"]["mean_s"], plain["tpot"]["mean_s"]);
  EXPECT_EQ(s["baseline"]["output_throughput"], plain["output_throughput"]);
  EXPECT_DOUBLE_EQ(s["speedup"]["tpot_mean"].get<double>(),
                   plain["tpot"]["mean_s"].get<double>() / summary["tpot"]["mean_s"].get<double>());
  EXPECT_GT(s["speedup"]["tpot_mean"].get<double>(), 1.0) << "a head at batch <= 8 gains";
  EXPECT_FALSE(plain.contains("speculative"));
}

TEST(Serving, EveryDrafterWithEverySchedulerKeepsLimitsAndFinishesEveryRequest) {
  // The conformance suite with speculative decoding: tight memory (25% of HBM) and fast
  // arrivals force queueing and preemption; the engine throws if a limit is broken, a request
  // is batched twice, or one never completes. Deterministic per seed.
  const std::vector<Json> drafters_under_test{
      {{"type", "draft-model"}, {"model", "llama-3.2-1b"}, {"k", 4}, {"acceptance", 0.7}},
      {{"type", "draft-model"}, {"model", "llama-3.2-1b"}, {"k", 3}, {"acceptance", 0.6},
       {"placement", "separate"}},
      {{"type", "eagle"}, {"k", 3}, {"acceptance", Json::array({0.9, 0.7, 0.5})},
       {"tree_width", 2}},
      {{"type", "mtp"}, {"k", 2}, {"acceptance", 0.8}}};
  std::vector<std::string> seen;
  std::uint64_t preemptions = 0;
  for (const Json& drafter : drafters_under_test) {
    seen.push_back(drafter["type"]);
    for (const std::string& scheduler : schedulers().names()) {
      for (const std::string& memory : kv_memories().names()) {
        Json serving{{"workload", {{"requests", 150},
                                   {"arrivals", {{"type", "poisson"}, {"rate", "30/s"}}},
                                   {"lengths", {{"type", "uniform"}, {"prompt_min", 16},
                                                {"prompt_max", 2000}, {"output_min", 1},
                                                {"output_max", 400}}}}},
                     {"scheduler", {{"type", scheduler}, {"max_batch_size", 32},
                                    {"max_batched_tokens", 2048}}},
                     {"memory", {{"type", memory}, {"utilization", 0.25}}},
                     {"drafter", drafter}};
        SpecRun run(serving);
        const Json a = run.summary();
        const std::string what = drafter.dump() + " " + scheduler + " " + memory;
        EXPECT_EQ(a["requests"], 150) << what;
        EXPECT_GT(a["speculative"]["steps"].get<double>(), 0) << what;
        EXPECT_EQ(a.dump(), run.summary().dump()) << "deterministic: " << what;
        preemptions += a["preemptions"].get<std::uint64_t>();
      }
    }
  }
  for (const std::string& name : drafters().names()) {
    EXPECT_NE(std::find(seen.begin(), seen.end(), name), seen.end()) << name << " untested";
  }
  EXPECT_GT(preemptions, 0u) << "the runs exercise preemption";
}

TEST(Speculative, RefusesWhatItDoesNotModel) {
  const auto refused = [](Json serving, const std::string& pointer, const std::string& words) {
    SpecRun run(std::move(serving));
    try {
      run.summary();
      ADD_FAILURE() << "accepted: " << words;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(pointer), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  Json s = sequential(1, 16, 10, {{"type", "eagle"}, {"k", 3}, {"acceptance", 0.5}});
  s["pipeline_parallel"] = 2;
  refused(s, "/serving/drafter", "pipeline_parallel above 1 is not modelled");
  refused(sequential(1, 16, 10, {{"type", "draft-model"}, {"model", "llama-2-7b"}, {"k", 3},
                                 {"acceptance", 0.5}}),
          "/serving/drafter/model", "share the target's tokenizer");
  refused(sequential(1, 16, 10, {{"type", "eagle"}, {"k", 3},
                                 {"acceptance", Json::array({0.5, 0.5})}}),
          "/serving/drafter/acceptance", "one rate per draft position");
  refused(sequential(1, 16, 10, {{"type", "eagle"}, {"k", 3}, {"acceptance", 1.5}}),
          "/serving/drafter/acceptance", "from 0 to 1");
  Json half_class = Json::object();
  half_class["classes"] = Json::array({Json{{"share", 0.5}, {"acceptance", 0.5}}});
  refused(sequential(1, 16, 10, {{"type", "eagle"}, {"k", 3}, {"acceptance", half_class}}),
          "/serving/drafter/acceptance/classes", "add up to 1");
  refused(sequential(1, 16, 10, {{"type", "mtp"}, {"k", 3}, {"acceptance", 0.5},
                                 {"tree_width", 2}}),
          "/serving/drafter/tree_width", "not modelled");
  refused(sequential(1, 16, 10, {{"type", "eagle"}, {"k", 10}, {"acceptance", 0.5},
                                 {"tree_width", 4}}),
          "/serving/drafter/tree_width", "more than 1024 tokens");
  refused(sequential(1, 16, 10, {{"type", "medusa"}, {"k", 3}, {"acceptance", 0.5}}),
          "/serving/drafter/type", "unknown drafter");
}

}  // namespace kvsim::serving::speculative
