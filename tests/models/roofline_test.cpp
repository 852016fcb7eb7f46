#include "models/compute/roofline.hpp"

#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"

namespace kvsim {

TEST(Roofline, ComputeBoundAndMemoryBoundRegimes) {
  RooflineModel::Params p;
  p.compute_efficiency = 0.5;
  p.memory_efficiency = 0.5;
  p.launch_overhead = 2e-6;
  const RooflineModel model(catalog::gpu("a100-sxm4-80gb"), p);
  Operation op;
  op.dtype = DType::kFp16;
  op.flops = 312e12;  // one second at peak, two at half
  op.bytes_read = 1e9;
  EXPECT_DOUBLE_EQ(model.cost(op).seconds, 2.0 + 2e-6);
  op.flops = 1e6;
  op.bytes_read = 2039e9;  // one second at full HBM bandwidth, two at half
  EXPECT_DOUBLE_EQ(model.cost(op).seconds, 2.0 + 2e-6);
  EXPECT_EQ(model.cost(op).provenance, Provenance::kRoofline);
}

TEST(Roofline, SingleGpuPrefillOfLlama2_7bIsAbovePhysicalFloor) {
  const LlmSpec s = catalog::llm("llama-2-7b");
  const RooflineModel model(catalog::gpu("a100-sxm4-80gb"), RooflineModel::Params{});
  const auto ops = prefill_layer(s, PrefillChunk{2048, 2048, Mask::kCausal}, DecomposeOptions{});
  const double seconds = 32 * total_seconds(model, ops);
  const double floor = 32 * total_flops(ops) / 312e12;
  EXPECT_GE(seconds, floor);
  EXPECT_LT(seconds, 3 * floor);  // the default efficiencies are 0.75 of peak
}

}  // namespace kvsim

#include "models/compute/precision_on_gpu.hpp"

namespace kvsim {
namespace {

// Llama-2-7B's QKV projection, 4096 tokens against a 12288 x 4096 weight: compute-bound.
Operation qkv_gemm(const Precision& p, std::int64_t tokens) {
  return gemm(OpKind::kQkvProj, LayerStage::kPreAttention, tokens, 12288, 4096, p);
}

}  // namespace

TEST(PrecisionOnGpu, Fp8OnA100IsPricedAsW8A16AndSaysSo) {
  const GpuSpec a100 = catalog::gpu("a100-sxm4-80gb");
  const Precision fp8{DType::kFp8, DType::kFp8, DType::kFp8};
  const PrecisionOnGpu run = precision_on_gpu(fp8, a100, DType::kFp16);
  EXPECT_EQ(run.precision.weights, DType::kFp8);       // stored and read in 8 bits
  EXPECT_EQ(run.precision.activations, DType::kFp16);  // math in 16 bits
  EXPECT_EQ(run.precision.kv_cache, DType::kFp8);      // stored in 8 bits
  EXPECT_NE(run.warning.find("a100-sxm4-80gb has no FP8 tensor cores"), std::string::npos)
      << run.warning;
  EXPECT_NE(run.warning.find("W8A16"), std::string::npos) << run.warning;

  const RooflineModel model(a100, RooflineModel::Params{});
  const Operation w8a16 = qkv_gemm(run.precision, 4096);
  const Operation fp16 = qkv_gemm(Precision{}, 4096);
  // Prefill is compute-bound: 2 x 4096 x 12288 x 4096 = 412.3 GFLOP at 312 TFLOP/s x 0.75
  // = 1762 us, against at most 184 MB / (2039 GB/s x 0.8) = 113 us of memory. The same math
  // time as fp16 (it used to be half, at the 624 TOP/s INT8 rate).
  const double math = 2.0 * 4096 * 12288 * 4096 / (312e12 * 0.75) + 4e-6;
  EXPECT_DOUBLE_EQ(model.cost(w8a16).seconds, math);
  EXPECT_DOUBLE_EQ(model.cost(fp16).seconds, math);
  // Decode is memory-bound and gains from the 8-bit weights: one token reads 12288 x 4096
  // weights (50.3 MB in fp8, 100.7 MB in fp16) plus 4096 x 2 B in and 12288 x 2 B out.
  const double fp8_bytes = 12288.0 * 4096 + 4096 * 2 + 12288 * 2;
  EXPECT_DOUBLE_EQ(model.cost(qkv_gemm(run.precision, 1)).seconds,
                   fp8_bytes / (2039e9 * 0.8) + 4e-6);
}

TEST(PrecisionOnGpu, Fp8OnH100RunsAtItsFp8RateWithoutWarning) {
  const GpuSpec h100 = catalog::gpu("h100-sxm");
  const Precision fp8{DType::kFp8, DType::kFp8, DType::kFp8};
  const PrecisionOnGpu run = precision_on_gpu(fp8, h100, DType::kBf16);
  EXPECT_EQ(run.precision.activations, DType::kFp8);
  EXPECT_TRUE(run.warning.empty());
  const RooflineModel model(h100, RooflineModel::Params{});
  // 412.3 GFLOP at 1979 TFLOP/s x 0.75 = 278 us (memory: 117 MB / (3.35 TB/s x 0.8) = 44 us).
  EXPECT_DOUBLE_EQ(model.cost(qkv_gemm(run.precision, 4096)).seconds,
                   2.0 * 4096 * 12288 * 4096 / (1979e12 * 0.75) + 4e-6);
  // fp16 everywhere, or an fp8 KV cache alone, is priced as asked and not warned about.
  EXPECT_TRUE(precision_on_gpu(Precision{}, catalog::gpu("a100-sxm4-80gb"), DType::kFp16)
                  .warning.empty());
  EXPECT_TRUE(precision_on_gpu(Precision{DType::kFp16, DType::kFp16, DType::kFp8},
                               catalog::gpu("a100-sxm4-80gb"), DType::kFp16)
                  .warning.empty());
}

}  // namespace kvsim

#include "sim/scenario/scenario.hpp"

namespace kvsim {

TEST(PrecisionOnGpu, ScenarioOnA100PricesW8A16AndCarriesTheWarning) {
  const auto doc = ConfigDocument::parse(R"({"model": "llama-2-7b",
      "precision": {"weights": "fp8", "activations": "fp8", "kv_cache": "fp8"},
      "cluster": {"gpu": "a100-sxm4-80gb"}, "decode": {"context_tokens": 100}})", "s.json");
  const Scenario s = load_scenario(doc);
  EXPECT_EQ(s.precision.weights, DType::kFp8);
  EXPECT_EQ(s.precision.activations, DType::kFp16);  // Llama-2-7B is an fp16 model
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("a100-sxm4-80gb has no FP8 tensor cores"), std::string::npos);
  // The resolved scenario keeps the request, so a rerun warns again.
  EXPECT_EQ(s.resolved["precision"]["activations"], "fp8");
}

}  // namespace kvsim
