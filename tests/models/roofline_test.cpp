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
