// Quantised weights, fp4 and fp8 math, fp8 KV cache and per-operation precision
// (models/llm/dtype.hpp, models/compute/precision_on_gpu.hpp, sim/scenario/precision_config.hpp):
// closed forms for bytes and times, and what a GPU without the tensor cores runs instead.

#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "models/compute/precision_on_gpu.hpp"
#include "models/compute/roofline.hpp"
#include "models/llm/operations.hpp"
#include "sim/core/input_error.hpp"
#include "sim/scenario/scenario.hpp"

namespace kvsim {
namespace {

constexpr double kInt4 = 133.0 / 256.0;  // (4 + (16 + 4) / 128) / 8 bytes
constexpr double kNvfp4 = 9.0 / 16.0;    // (4 + 8 / 16) / 8
constexpr double kMxfp4 = 17.0 / 32.0;   // (4 + 8 / 32) / 8

// Llama-2-7B's groups: attention 32 x 4 x 4096^2 = 2,147,483,648; MLP 32 x 3 x 4096 x 11008 =
// 4,328,521,728; embedding + LM head 2 x 32000 x 4096 = 262,144,000 and norms 65 x 4096 =
// 266,240 (262,410,240 unquantised). Sum 6,738,415,616 = parameters().
constexpr double kAttention = 2'147'483'648.0;
constexpr double kMlp = 4'328'521'728.0;
constexpr double kUnquantised = 262'410'240.0;

Scenario load(const std::string& precision, const std::string& gpu = "h100-sxm") {
  const std::string text = R"({"model": "llama-2-7b", "precision": )" + precision +
                           R"(, "cluster": {"gpu": ")" + gpu +
                           R"("}, "decode": {"context_tokens": 100}})";
  return load_scenario(ConfigDocument::parse(text, "p.json"));
}

std::string refusal(const std::string& precision) {
  try {
    (void)load(precision);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Precision, SubByteFormatsCarryTheirBlockScales) {
  EXPECT_DOUBLE_EQ(bytes_of(DType::kInt4), kInt4);
  EXPECT_DOUBLE_EQ(bytes_of(DType::kNvfp4), kNvfp4);
  EXPECT_DOUBLE_EQ(bytes_of(DType::kMxfp4), kMxfp4);
  EXPECT_EQ(parse_dtype("nvfp4"), DType::kNvfp4);
}

TEST(Precision, GroupsSplitTheParameters) {
  const LlmSpec s = catalog::llm("llama-2-7b");
  EXPECT_EQ(s.attention_parameters(), 2'147'483'648);
  EXPECT_EQ(s.unquantised_parameters(), 262'410'240);
  EXPECT_EQ(s.parameters(), 2'147'483'648 + 4'328'521'728 + 262'410'240);
}

TEST(Precision, QuantisedWeightsInMemoryLeaveEmbeddingLmHeadAndNormsUnquantised) {
  const LlmSpec s = catalog::llm("llama-2-7b");
  const double kept = kUnquantised * 2;  // fp16, as AWQ, GPTQ and NVFP4 checkpoints keep
  // int4: (2,147,483,648 + 4,328,521,728) x 133/256 + 262,410,240 x 2 = 3,889,181,696 B.
  EXPECT_DOUBLE_EQ(s.weight_bytes(load(R"({"weights": "int4"})").precision),
                   (kAttention + kMlp) * kInt4 + kept);
  // fp8 covers every weight, as before (per_operation.lm_head keeps the ends in 16 bits).
  EXPECT_DOUBLE_EQ(s.weight_bytes(load(R"({"weights": "fp8"})").precision),
                   (kAttention + kMlp + kUnquantised) * 1);
  EXPECT_DOUBLE_EQ(s.weight_bytes(load(R"({"weights": "fp8", "per_operation": {"lm_head":
                       {"weights": "fp16", "activations": "fp16"}}})").precision),
                   (kAttention + kMlp) * 1 + kept);
  EXPECT_DOUBLE_EQ(s.weight_bytes(load(R"({"weights": "nvfp4"})", "b200").precision),
                   (kAttention + kMlp) * kNvfp4 + kept);
  EXPECT_DOUBLE_EQ(s.weight_bytes(load(R"({"weights": "mxfp4"})", "b200").precision),
                   (kAttention + kMlp) * kMxfp4 + kept);
  // Unquantised: the old single-format total.
  EXPECT_DOUBLE_EQ(s.weight_bytes(Precision{}), s.weight_bytes(DType::kFp16));
}

TEST(Precision, PerOperationFormatsPriceEachGroupInItsOwn) {
  // fp8 MLP weights and math, bf16 attention projections, on an H100.
  const Scenario sc = load(R"({"per_operation": {"mlp": {"weights": "fp8", "activations":
      "fp8"}}})");
  const Precision& p = sc.precision;
  EXPECT_DOUBLE_EQ(sc.model.weight_bytes(p), kAttention * 2 + kMlp * 1 + kUnquantised * 2);
  const Operation qkv = gemm(OpKind::kQkvProj, LayerStage::kPreAttention, 1, 12288, 4096, p);
  const Operation up = gemm(OpKind::kMlpUp, LayerStage::kPostAttention, 1, 22016, 4096, p);
  EXPECT_EQ(qkv.dtype, DType::kFp16);
  EXPECT_DOUBLE_EQ(qkv.weight_bytes, 12288.0 * 4096 * 2);
  EXPECT_EQ(up.dtype, DType::kFp8);
  EXPECT_DOUBLE_EQ(up.weight_bytes, 22016.0 * 4096 * 1);
  EXPECT_EQ(sc.resolved["precision"]["per_operation"]["mlp"]["weights"], "fp8");
  EXPECT_FALSE(sc.resolved["precision"]["per_operation"].contains("attention"));
}

TEST(Precision, W4A16DecodeGemmReadsFourBitWeightsAndPrefillKeepsTheSixteenBitMath) {
  const GpuSpec h100 = catalog::gpu("h100-sxm");
  const Precision w4a16{DType::kInt4, DType::kFp16, DType::kFp16};
  // One decode token through the down projection: 4096 x 11008 weights at 133/256 B, 11008
  // inputs and 4096 outputs at 2 B.
  const Operation decode = gemm(OpKind::kMlpDown, LayerStage::kPostAttention, 1, 4096, 11008,
                                w4a16);
  const double weights = 4096.0 * 11008 * kInt4;
  EXPECT_DOUBLE_EQ(decode.weight_bytes, weights);
  EXPECT_DOUBLE_EQ(decode.bytes(), weights + 11008.0 * 2 + 4096.0 * 2);
  const RooflineModel model(h100, RooflineModel::Params{});
  // Memory-bound: bytes / (3.35 TB/s x 0.8) + 4 us, about 3.8x fewer weight bytes than fp16.
  EXPECT_DOUBLE_EQ(model.cost(decode).seconds,
                   (weights + 11008.0 * 2 + 4096.0 * 2) / (3.35e12 * 0.8) + 4e-6);
  // Compute-bound prefill of 4096 tokens: 2 x 4096 x 4096 x 11008 FLOPs at the fp16 rate, as
  // in fp16 (the weights are dequantised to 16 bits inside the GEMM: no faster math).
  const Operation prefill = gemm(OpKind::kMlpDown, LayerStage::kPostAttention, 4096, 4096,
                                 11008, w4a16);
  const Operation fp16 = gemm(OpKind::kMlpDown, LayerStage::kPostAttention, 4096, 4096, 11008,
                              Precision{});
  EXPECT_DOUBLE_EQ(model.cost(prefill).seconds, 2.0 * 4096 * 4096 * 11008 / (989e12 * 0.75) + 4e-6);
  EXPECT_DOUBLE_EQ(model.cost(prefill).seconds, model.cost(fp16).seconds);
}

TEST(Precision, Fp8KvCacheHalvesKvBytesInMemoryAndInDecodeAttention) {
  const LlmSpec s = catalog::llm("llama-2-7b");
  EXPECT_DOUBLE_EQ(s.kv_bytes_per_token(DType::kFp8), s.kv_bytes_per_token(DType::kFp16) / 2);
  // Decode attention of one request over 1000 keys: K and V 2 x 1000 x 32 x 128 B in fp8,
  // twice that in fp16; the query (32 x 128 x 2 B) is read and the output written either way.
  DecomposeOptions fp8_kv;
  fp8_kv.precision = Precision{DType::kFp16, DType::kFp16, DType::kFp8};
  const std::vector<std::int64_t> kv{1000};
  const auto attention = [&](const DecomposeOptions& o) {
    for (const Operation& op : decode_layer(s, kv, o)) {
      if (op.kind == OpKind::kAttention) return op;
    }
    return Operation{};
  };
  const double q = 32.0 * 128 * 2;
  EXPECT_DOUBLE_EQ(attention(fp8_kv).bytes_read, q + 2.0 * 1000 * 32 * 128 * 1);
  EXPECT_DOUBLE_EQ(attention(DecomposeOptions{}).bytes_read, q + 2.0 * 1000 * 32 * 128 * 2);
  // The scenario's memory check and serving's budget use the same per-token bytes.
  EXPECT_EQ(load(R"({"kv_cache": "fp8"})").precision.kv_cache, DType::kFp8);
}

TEST(Precision, Fp4RunsNativelyOnBlackwellAtItsRate) {
  const GpuSpec b200 = catalog::gpu("b200");
  const Scenario sc = load(R"({"weights": "nvfp4", "activations": "nvfp4"})", "b200");
  EXPECT_TRUE(sc.warnings.empty());
  // W4A4: the GEMMs multiply in nvfp4; attention and elementwise kernels stay 16-bit.
  EXPECT_EQ(sc.precision.activations, DType::kFp16);
  EXPECT_EQ(sc.precision.of(GemmGroup::kMlp).activations, DType::kNvfp4);
  EXPECT_EQ(sc.precision.of(GemmGroup::kAttention).weights, DType::kNvfp4);
  const Operation up = gemm(OpKind::kMlpUp, LayerStage::kPostAttention, 8192, 22016, 4096,
                            sc.precision);
  RooflineModel::Params flat;
  flat.compute_efficiency = 0.5;
  const RooflineModel model(b200, flat);
  // 2 x 8192 x 22016 x 4096 FLOPs at 9 PFLOP/s x 0.5 (memory: about 0.5 GB at 8 TB/s x 0.8).
  EXPECT_DOUBLE_EQ(model.cost(up).seconds, 2.0 * 8192 * 22016 * 4096 / (9000e12 * 0.5) + 4e-6);
}

TEST(Precision, FormatsWithoutTensorCoresRunWeightOnlyAndSaySo) {
  // nvfp4 on an H100 (no FP4 tensor cores): W4A16, weights still read in nvfp4.
  const Scenario h100 = load(R"({"weights": "nvfp4", "activations": "nvfp4"})");
  ASSERT_EQ(h100.warnings.size(), 1u);
  EXPECT_NE(h100.warnings[0].find("h100-sxm has no NVFP4 tensor cores"), std::string::npos)
      << h100.warnings[0];
  EXPECT_NE(h100.warnings[0].find("W4A16"), std::string::npos);
  EXPECT_EQ(h100.precision.of(GemmGroup::kMlp).weights, DType::kNvfp4);
  EXPECT_EQ(h100.precision.of(GemmGroup::kMlp).activations, DType::kFp16);
  // The MI355X multiplies mxfp4 only: an nvfp4 checkpoint runs weight-only there.
  EXPECT_TRUE(load(R"({"weights": "mxfp4", "activations": "mxfp4"})", "mi355x").warnings.empty());
  const Scenario mi355x = load(R"({"weights": "nvfp4", "activations": "nvfp4"})", "mi355x");
  ASSERT_EQ(mi355x.warnings.size(), 1u);
  EXPECT_NE(mi355x.warnings[0].find("mi355x has no NVFP4 tensor cores"), std::string::npos);
  // fp8 MLP only, on an A100: that group runs as W8A16 and the warning names it.
  const Scenario a100 = load(R"({"per_operation": {"mlp": {"weights": "fp8", "activations":
      "fp8"}}})", "a100-sxm4-80gb");
  ASSERT_EQ(a100.warnings.size(), 1u);
  EXPECT_NE(a100.warnings[0].find("no FP8 tensor cores"), std::string::npos);
  EXPECT_EQ(a100.precision.of(GemmGroup::kMlp).activations, DType::kFp16);
  EXPECT_EQ(a100.precision.of(GemmGroup::kMlp).weights, DType::kFp8);
  // int4 weights (AWQ/GPTQ) are weight-only everywhere: nothing to warn about.
  EXPECT_TRUE(load(R"({"weights": "int4"})", "a100-sxm4-80gb").warnings.empty());
}

TEST(Precision, CombinationsKvsimDoesNotModelAreRefusedByName) {
  EXPECT_NE(refusal(R"({"weights": "int4", "activations": "int4"})").find("weight-only"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"weights": "int4", "activations": "fp8"})").find("W4A8"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"weights": "fp8", "activations": "nvfp4"})").find("need nvfp4 weights"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"kv_cache": "nvfp4"})").find("not allowed"), std::string::npos);
  EXPECT_NE(refusal(R"({"per_operation": {"mpl": {"weights": "fp8"}}})").find("mlp"),
            std::string::npos);
}

TEST(Precision, RooflineEfficienciesDefaultToPublishedAchievedFigures) {
  const Json empty = Json::object();
  const ConfigNode node(&empty, "t", Json::json_pointer());
  // B200: best bf16 GEMM 1745.0 of 2250 TFLOP/s, fp8 3432.5 of 4500 (stas00/ml-engineering).
  const auto b200 = RooflineModel::Params::from_config(node, catalog::gpu("b200"));
  EXPECT_DOUBLE_EQ(b200.compute_efficiency, 1745.0 / 2250.0);
  EXPECT_DOUBLE_EQ(*b200.fp8_compute_efficiency, 3432.5 / 4500.0);
  EXPECT_DOUBLE_EQ(b200.memory_efficiency, 0.8);  // no published stream figure
  // MI300X: 668.4 of 1307.4 TFLOP/s, BabelStream copy 4.15 of 5.3 TB/s (Azure).
  const auto mi300x = RooflineModel::Params::from_config(node, catalog::gpu("mi300x"));
  EXPECT_DOUBLE_EQ(mi300x.compute_efficiency, 668.4 / 1307.4);
  EXPECT_DOUBLE_EQ(mi300x.memory_efficiency, 4.15 / 5.3);
  // A GPU without achieved figures keeps the defaults; a scenario's own value wins.
  EXPECT_DOUBLE_EQ(RooflineModel::Params::from_config(node, catalog::gpu("a100-sxm4-80gb"))
                       .compute_efficiency, 0.75);
  const Json given{{"compute_efficiency", 0.6}};
  const auto b200_given =
      RooflineModel::Params::from_config(ConfigNode(&given, "t", Json::json_pointer()),
                                         catalog::gpu("b200"));
  EXPECT_DOUBLE_EQ(b200_given.compute_efficiency, 0.6);
  EXPECT_FALSE(b200_given.fp8_compute_efficiency.has_value());
  // fp8 math on the B200 runs at its own achieved fraction of the fp8 peak.
  const RooflineModel model(catalog::gpu("b200"), b200);
  const Operation fp8 = gemm(OpKind::kMlpUp, LayerStage::kPostAttention, 8192, 8192, 8192,
                             Precision{DType::kFp8, DType::kFp8, DType::kFp8});
  EXPECT_DOUBLE_EQ(model.cost(fp8).seconds,
                   2.0 * 8192 * 8192 * 8192 / (4500e12 * (3432.5e12 / 4500e12)) + 4e-6);
}

}  // namespace kvsim
