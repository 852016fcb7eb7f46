// The compiled iteration cost (models/compiled/compiled_cost.hpp behind serving's IterationCost)
// against the decomposition-based pricing it replaced (reference_iteration_cost): on random
// iteration shapes, every number is equal bit for bit, over dense, parallel-attention (Falcon),
// tensor-parallel, engine-profile, fp8, W8A16, eager-attention, calibrated and roofline set-ups,
// sliding-window (Mistral past its window, Gemma-2's two kinds of layer) and latent-attention
// ones, and mixture-of-experts ones (Mixtral, Qwen3-MoE) with and without expert parallelism.
#include <random>

#include <gtest/gtest.h>

#include "sim/serving/iteration_cost.hpp"

namespace kvsim::serving {
namespace {

struct CostSetup {
  const char* label;
  Json scenario;
  std::int64_t tensor_parallel;
  std::int64_t max_kv;  // keys per sequence the shapes stay within (the model's context)
};

// IterationCost reads the model, compute model, engine, precision and the prefill section's
// attention implementation; the prefill section is a tp one over `prefill_gpus` GPUs for a model
// that does not fit one.
Json scenario(Json model, const char* gpu, Json compute, const char* attention,
              Json extra = Json::object(), int prefill_gpus = 1) {
  Json s{{"model", std::move(model)}, {"cluster", {{"gpu", gpu}}}, {"compute", std::move(compute)}};
  s["prefill"] = {{"context_tokens", 512},
                  {"attention", attention},
                  {"strategies", Json::array({{{"type", prefill_gpus > 1 ? "tp" : "single"}}})}};
  if (prefill_gpus > 1) s["cluster"]["topology"] = {{"type", "nvswitch"}, {"gpus", prefill_gpus}};
  for (auto& [key, value] : extra.items()) s[key] = value;
  return s;
}

// DeepSeek-V3's latent attention (its config.json) on a dense MLP, as tests/models does.
Json mla_model() {
  return Json::parse(R"({
    "name": "mla-dense-test", "source": "test: DeepSeek-V3's attention with a dense MLP",
    "layers": 61, "hidden_size": 7168, "heads": 128, "kv_heads": 1, "head_dim": 192,
    "intermediate_size": 18432, "vocab_size": 129280, "max_context": 163840, "dtype": "bf16",
    "mla": {"q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128,
            "qk_rope_head_dim": 64, "v_head_dim": 128}})");
}

Json calibrated(const char* profile) { return {{"type", "calibrated"}, {"profile", profile}}; }
Json roofline() { return {{"type", "roofline"}}; }

std::vector<CostSetup> setups() {
  return {
      {"llama-2-7b calibrated A100", scenario("llama-2-7b", "a100-sxm4-80gb",
                                              calibrated("a100-sxm4-80gb"), "fused"), 1, 4096},
      {"llama-2-7b roofline eager", scenario("llama-2-7b", "a100-sxm4-80gb", roofline(), "eager"),
       1, 4096},
      {"falcon-7b (parallel attention, MQA) calibrated A100",
       scenario("falcon-7b", "a100-sxm4-80gb", calibrated("a100-sxm4-80gb"), "fused"), 1, 2048},
      {"falcon-40b tp 4 calibrated A100 eager",
       scenario("falcon-40b", "a100-sxm4-80gb", calibrated("a100-sxm4-80gb"), "eager",
                Json::object(), 4), 4, 2048},
      {"llama-2-70b tp 4 calibrated H100 fp8, engine trtllm-v0.9",
       scenario("llama-2-70b", "h100-sxm", calibrated("h100-sxm"), "fused",
                {{"precision", {{"weights", "fp8"}, {"activations", "fp8"}, {"kv_cache", "fp8"}}},
                 {"engine", "trtllm-v0.9"}}, 4), 4, 4096},
      {"llama-2-13b tp 2 W8A16 calibrated A100, engine splitwise",
       scenario("llama-2-13b", "a100-sxm4-80gb", calibrated("a100-sxm4-80gb"), "fused",
                {{"precision", {{"weights", "fp8"}, {"activations", "fp16"},
                                {"kv_cache", "fp16"}}},
                 {"engine", "splitwise"}}), 2, 4096},
      {"mistral-7b tp 2 roofline, parametric engine with CUDA graphs",
       scenario("mistral-7b", "h100-sxm", roofline(), "fused",
                {{"engine", {{"type", "parametric"},
                             {"host", {{"per_pass", "20us"}, {"per_token", "5ns"}}},
                             {"launch", {{"per_kernel", "3us"}, {"decode_cuda_graphs", true}}},
                             {"layer_sync", {{"tensor_parallel", "7us"}}}}}}), 2, 4096},
      {"mistral-7b calibrated A100, past its 4,096-token window",
       scenario("mistral-7b", "a100-sxm4-80gb", calibrated("a100-sxm4-80gb"), "fused"), 1, 12000},
      {"gemma-2-9b (windowed and global layers) roofline H100",
       scenario("gemma-2-9b", "h100-sxm", roofline(), "fused"), 1, 8192},
      {"latent attention (DeepSeek-V3's widths) tp 8 roofline H200",
       scenario(mla_model(), "h200", roofline(), "fused", Json::object(), 8), 8, 8192},
  };
}

// A random iteration: up to 3 prefill chunks (some sharing a KV prefix) and up to 80 decodes,
// at least one sequence; token counts repeat across shapes so the tables are hit, not only
// filled.
IterationShape random_shape(std::mt19937_64& rng, std::int64_t max_kv) {
  auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  IterationShape shape;
  do {
    shape.clear();
    const std::int64_t prefills = uniform(0, 3);
    for (std::int64_t i = 0; i < prefills; ++i) {
      const std::int64_t q = uniform(0, 1) == 0 ? uniform(1, 16) : uniform(1, 1024);
      shape.prefills.emplace_back(q, q + uniform(0, max_kv - q));
    }
    const std::int64_t decodes = uniform(0, 1) == 0 ? uniform(0, 4) : uniform(0, 80);
    for (std::int64_t i = 0; i < decodes; ++i) shape.decodes.push_back(uniform(1, max_kv));
  } while (shape.prefills.empty() && shape.decodes.empty());
  const auto sequences = static_cast<std::int64_t>(shape.prefills.size() + shape.decodes.size());
  shape.emitting = uniform(0, sequences);
  return shape;
}

// 300 random shapes priced both ways, every number equal bit for bit.
void expect_compiled_equals_decomposition(const CostSetup& setup,
                                          std::int64_t expert_parallel) {
  SCOPED_TRACE(setup.label);
  const Scenario s = load_scenario(ConfigDocument(setup.scenario, "iteration.json"));
  IterationCost compiled(s, setup.tensor_parallel, expert_parallel);
  std::mt19937_64 rng(20);
  for (int i = 0; i < 300; ++i) {
    const IterationShape shape = random_shape(rng, setup.max_kv);
    const IterationCompute want =
        reference_iteration_cost(s, setup.tensor_parallel, shape, expert_parallel);
    const IterationCompute got = compiled(shape);
    ASSERT_EQ(got.layer_blocks.size(), s.model.parallel_attention ? 1u : 2u);
    ASSERT_EQ(got.layer_blocks, want.layer_blocks) << "shape " << i;
    ASSERT_EQ(got.embedding, want.embedding) << "shape " << i;
    ASSERT_EQ(got.head, want.head) << "shape " << i;
    ASSERT_EQ(got.host, want.host) << "shape " << i;
    ASSERT_EQ(got.layer_sync, want.layer_sync) << "shape " << i;
  }
}

}  // namespace

TEST(IterationCost, CompiledEqualsTheDecompositionBitForBitOnRandomShapes) {
  for (const CostSetup& setup : setups()) expect_compiled_equals_decomposition(setup, 1);
}

TEST(IterationCost, CompiledEqualsTheDecompositionBitForBitOnMixtureOfExperts) {
  // The MoE operations (router, grouped expert GEMMs at the busiest rank's seeded load,
  // layer_share) come from the same prefill_layer per token count: both paths price them alike,
  // with the experts split over the tp ranks (ep 4) or sharded within them (ep 1), and Qwen3's
  // 128 experts under a skewed load.
  const Json zipf{{"type", "zipf"}, {"skew", 1.2}};
  const CostSetup mixtral{"mixtral-8x7b tp 4 calibrated A100, zipf load",
                          scenario("mixtral-8x7b", "a100-sxm4-80gb", calibrated("a100-sxm4-80gb"),
                                   "fused", {{"expert_load", zipf}}, 4),
                          4, 4096};
  expect_compiled_equals_decomposition(mixtral, 4);
  expect_compiled_equals_decomposition(mixtral, 1);
  const CostSetup qwen{"qwen3-235b-a22b tp 8 roofline H100 fp8, dirichlet load",
                       scenario("qwen3-235b-a22b", "h100-sxm", roofline(), "fused",
                                {{"expert_load", {{"type", "dirichlet"}, {"concentration", 0.5}}},
                                 {"precision", {{"weights", "fp8"}, {"activations", "fp8"},
                                                {"kv_cache", "fp8"}}}},
                                8),
                       8, 4096};
  expect_compiled_equals_decomposition(qwen, 8);
}

TEST(IterationCost, PrefillAttentionMemoHitsEqualTheDecompositionBitForBit) {
  // The compiled cost memoises each prefill chunk's attention per (q, kv, pass): shapes priced
  // again, in another order and with entries replaced by colliding keys in between, still equal
  // the decomposition bit for bit.
  const std::vector<CostSetup> all = setups();
  const CostSetup& setup = all.front();
  SCOPED_TRACE(setup.label);
  const Scenario s = load_scenario(ConfigDocument(setup.scenario, "iteration.json"));
  IterationCost compiled(s, setup.tensor_parallel);
  std::mt19937_64 rng(21);
  std::vector<IterationShape> shapes;
  for (int i = 0; i < 400; ++i) shapes.push_back(random_shape(rng, setup.max_kv));
  for (int pass = 0; pass < 3; ++pass) {
    for (std::size_t k = 0; k < shapes.size(); ++k) {
      const IterationShape& shape = shapes[pass == 1 ? shapes.size() - 1 - k : k];
      const IterationCompute want = reference_iteration_cost(s, setup.tensor_parallel, shape);
      ASSERT_EQ(compiled(shape).layer_blocks, want.layer_blocks) << "pass " << pass;
    }
  }
}

TEST(IterationCost, PricesALongPassPastItsTablesAsTheDecompositionDoes) {
  // 70,000 new tokens in one iteration: past the compiled tables' 2^16 counts, priced per call.
  const Scenario s = load_scenario(ConfigDocument(
      scenario("llama-2-7b", "a100-sxm4-80gb", calibrated("a100-sxm4-80gb"), "fused"),
      "iteration.json"));
  IterationShape shape;
  shape.prefills = {{70'000, 70'000}};
  shape.emitting = 1;
  IterationCost compiled(s, 1);
  for (int twice = 0; twice < 2; ++twice) {
    const IterationCompute want = reference_iteration_cost(s, 1, shape);
    const IterationCompute got = compiled(shape);
    EXPECT_EQ(got.layer_blocks, want.layer_blocks);
    EXPECT_EQ(got.embedding, want.embedding);
  }
}

TEST(IterationCost, PricesAttentionPastASlidingWindowAsTheDecompositionDoes) {
  // Mistral-7B's window is 4,096 keys: a decode at 9,000 sees 4,096 of them, in both paths.
  const Scenario s = load_scenario(ConfigDocument(
      scenario("mistral-7b", "a100-sxm4-80gb", roofline(), "fused"), "iteration.json"));
  IterationShape shape;
  shape.decodes = {100, 9000};
  shape.emitting = 2;
  IterationCost compiled(s, 1);
  EXPECT_EQ(compiled(shape).layer_blocks, reference_iteration_cost(s, 1, shape).layer_blocks);
  IterationShape inside = shape;
  inside.decodes = {100, 4096};
  EXPECT_EQ(compiled(shape).layer_blocks, compiled(inside).layer_blocks);
}

}  // namespace kvsim::serving
