// Derived costs (models/compute/derived_profile.hpp): fp8 on FP8 tensor cores from a 16-bit
// profile, and a profile carried over to another GPU of its SM generation. Each is bounded by
// the rule's closed form, says "derived", and warns when a scenario loads it. Also split-K's
// quantised work (gemm_fit.hpp) in closed form.
#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "models/compute/calibrated.hpp"
#include "models/compute/derived_profile.hpp"
#include "sim/scenario/scenario.hpp"

namespace kvsim {
namespace {

const Operation& op_of(const std::vector<Operation>& ops, OpKind kind) {
  for (const auto& op : ops) {
    if (op.kind == kind) return op;
  }
  throw std::logic_error("no such op");
}

Operation layer_op(std::int64_t tokens, OpKind kind, const Precision& p, std::int64_t tp = 1) {
  DecomposeOptions o;
  o.precision = p;
  o.tensor_parallel = tp;
  return op_of(prefill_layer(catalog::llm("llama-2-7b"), {tokens, tokens, Mask::kCausal}, o),
               kind);
}

const Precision kFp8{DType::kFp8, DType::kFp8, DType::kFp8};

bool any_contains(const std::vector<std::string>& v, const std::string& text) {
  return std::any_of(v.begin(), v.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

}  // namespace

TEST(GemmFit, SplitKQuantisedWorkInClosedForm) {
  GemmFit g;
  g.tile_m = 64;
  g.tile_n = 64;
  g.sms = 108;
  g.max_split = 16;
  g.min_k_slice = 256;
  // m=16, n=1536, k=4096: 1 x 24 tiles; s = min(16, floor(108/24) = 4, 4096/256 = 16) = 4;
  // 96 tile-slices fill one wave: W = 1 x 108 x 64 x 64 x 2 x 1024 = 905,969,664 FLOPs.
  EXPECT_EQ(g.split(16, 1536, 4096), 4);
  EXPECT_DOUBLE_EQ(g.quantised_flops(16, 1536, 4096), 905969664.0);
  // The reduction: 4 fp32 partial 16 x 1536 outputs, written and read: 2 x 4 x 16 x 1536 x 4.
  EXPECT_DOUBLE_EQ(g.reduction_bytes(16, 1536, 4096), 786432.0);
  // 2048 rows give 32 x 24 = 768 tiles, over a wave: no split, W = 8 waves x 108 x 64 x 64 x 2
  // x 4096.
  EXPECT_EQ(g.split(2048, 1536, 4096), 1);
  EXPECT_DOUBLE_EQ(g.quantised_flops(2048, 1536, 4096), 8.0 * 108 * 64 * 64 * 2 * 4096);
  EXPECT_DOUBLE_EQ(g.reduction_bytes(2048, 1536, 4096), 0.0);
  // A short k keeps its slices at least 256 long: k = 512 splits at most 2 ways.
  EXPECT_EQ(g.split(16, 1536, 512), 2);
}

TEST(DerivedCost, Fp8GemmOnH100LiesBetweenTheFp16TimeOverThePeakRatioAndIt) {
  const GpuSpec gpu = catalog::gpu("h100-sxm");
  const CalibratedModel m(gpu, shipped_profile("h100-sxm"), {});
  const double ratio = gpu.fp8_flops / gpu.fp16_flops;  // 1979 / 989
  for (const std::int64_t tp : {1, 8}) {
    for (const std::int64_t tokens : {1, 16, 100, 512, 4096, 5000}) {
      for (const OpKind kind : {OpKind::kQkvProj, OpKind::kMlpUp, OpKind::kMlpDown,
                                OpKind::kInputNorm, OpKind::kMlpAct}) {
        const OpCost c16 = m.cost(layer_op(tokens, kind, {}, tp));
        const OpCost c8 = m.cost(layer_op(tokens, kind, kFp8, tp));
        EXPECT_EQ(c8.provenance, Provenance::kDerived) << to_string(kind) << " @ " << tokens;
        EXPECT_LE(c8.seconds, c16.seconds) << to_string(kind) << " @ " << tokens;
        EXPECT_GE(c8.seconds, c16.seconds / ratio) << to_string(kind) << " @ " << tokens;
      }
    }
  }
}

TEST(DerivedCost, Fp8GemmIsTheMeasuredTimeTimesTheFittedRatio) {
  const GpuSpec gpu = catalog::gpu("h100-sxm");
  const DeviceProfile profile = shipped_profile("h100-sxm");
  const CalibratedModel m(gpu, profile, {});
  // Llama-2-7B's QKV at 4096 tokens, measured in fp16 by Vidur: t8 = t16 x (c0 + c1 W / r +
  // c2 B8) / (c0 + c1 W + c2 B16), r = 1979 / 989 TFLOP/s, B8 the fp8 bytes.
  const Operation op16 = layer_op(4096, OpKind::kQkvProj, {});
  const Operation op8 = layer_op(4096, OpKind::kQkvProj, kFp8);
  const OpCost c16 = m.cost(op16);
  ASSERT_EQ(c16.provenance, Provenance::kMeasured);
  const auto& c = profile.gemm->fit.coefficients;
  const auto x16 = profile.gemm->features(op16);
  const auto x8 = profile.gemm->features(op8);
  const double r = gpu.fp8_flops / gpu.fp16_flops;
  const double expected = c16.seconds * (c[0] + c[1] * x8[1] / r + c[2] * x8[2]) /
                          (c[0] + c[1] * x16[1] + c[2] * x16[2]);
  EXPECT_NEAR(m.cost(op8).seconds, expected, 1e-12 * expected);
}

TEST(DerivedCost, H200FromTheH100ProfileWarnsAndDecodesFasterByAboutTheBandwidthRatio) {
  Json j = Json::parse(R"({"model": "llama-2-7b", "cluster": {"gpu": "h200"},
      "compute": {"type": "calibrated", "profile": "h100-sxm"},
      "prefill": {"context_tokens": 2048, "strategies": [{"type": "single"}]}})");
  const Scenario s = load_scenario(ConfigDocument(j, "h200.json"));
  EXPECT_TRUE(any_contains(s.warnings, "h200 has no profile of its own: profile 'h100-sxm'"));
  EXPECT_TRUE(any_contains(s.warnings, "derived"));
  EXPECT_EQ(s.compute->to_json()["profile"], "h100-sxm");  // the resolved scenario reloads
  const CalibratedModel h100(catalog::gpu("h100-sxm"), shipped_profile("h100-sxm"), {});
  const double bandwidth_ratio = 4.8 / 3.35;
  for (const OpKind kind : {OpKind::kQkvProj, OpKind::kMlpUp, OpKind::kMlpDown}) {
    // Decode of 8 requests: each GEMM reads its weights once, memory-bound.
    const Operation op = layer_op(8, kind, {});
    const OpCost on_h200 = s.compute->cost(op);
    const double speedup = h100.cost(op).seconds / on_h200.seconds;
    EXPECT_EQ(on_h200.provenance, Provenance::kDerived);
    // Faster by at most the bandwidth ratio (the launch term does not shrink) and by most of it
    // (these GEMMs read 90-180 MB of weights: 27-54 us at the H100's 3.35 TB/s).
    EXPECT_LE(speedup, bandwidth_ratio * (1 + 1e-12)) << to_string(kind);
    EXPECT_GE(speedup, 1.2) << to_string(kind);
  }
  // Compute-bound prefill: the same SMs at the same clocks, so about the H100's time.
  const Operation big = layer_op(4096, OpKind::kMlpUp, {});
  EXPECT_NEAR(s.compute->cost(big).seconds / h100.cost(big).seconds, 1.0, 0.1);
}

TEST(DerivedCost, AProfileDoesNotCarryOverAcrossSmGenerations) {
  Json j = Json::parse(R"({"model": "llama-2-7b", "cluster": {"gpu": "h200"},
      "compute": {"type": "calibrated", "profile": "a100-sxm4-80gb"},
      "prefill": {"context_tokens": 2048, "strategies": [{"type": "single"}]}})");
  try {
    load_scenario(ConfigDocument(j, "h200.json"));
    ADD_FAILURE() << "an A100 profile on an H200 must be refused";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/compute/profile");
    EXPECT_NE(e.message().find("same SM generation"), std::string::npos) << e.message();
  }
  // Within a generation it does: the 40 GB A100 from the 80 GB one's profile.
  j["cluster"]["gpu"] = "a100-sxm4-40gb";
  EXPECT_TRUE(any_contains(load_scenario(ConfigDocument(j, "a100.json")).warnings,
                           "a100-sxm4-40gb has no profile of its own"));
}

TEST(DerivedCost, Fp8ScenarioOnH100Warns) {
  Json j = Json::parse(R"({"model": "llama-2-7b", "cluster": {"gpu": "h100-sxm"},
      "precision": {"weights": "fp8", "activations": "fp8"},
      "compute": {"type": "calibrated", "profile": "h100-sxm"},
      "prefill": {"context_tokens": 2048, "strategies": [{"type": "single"}]}})");
  const Scenario s = load_scenario(ConfigDocument(j, "fp8.json"));
  EXPECT_TRUE(any_contains(s.warnings, "fp8 GEMMs and elementwise kernels on h100-sxm are "
                                       "derived"));
  j["precision"]["activations"] = "fp16";  // W8A16: no fp8 math, nothing derived
  EXPECT_FALSE(any_contains(load_scenario(ConfigDocument(j, "fp8.json")).warnings, "derived"));
}

}  // namespace kvsim

namespace kvsim {

TEST(GemmFit, ProfilesRoundTripTheSplitAndRefuseOneWiderThanTheGpu) {
  const DeviceProfile shipped = shipped_profile("h100-sxm");
  Json j = shipped.to_json();
  const DeviceProfile again = DeviceProfile::from_json(ConfigDocument(j, "p.json").root());
  EXPECT_EQ(again.gemm->max_split, shipped.gemm->max_split);
  EXPECT_EQ(again.gemm->min_k_slice, shipped.gemm->min_k_slice);
  j["gemm_fit"]["split_k"]["max_split"] = 1000;  // the H100 has 132 SMs
  try {
    DeviceProfile::from_json(ConfigDocument(j, "p.json").root());
    ADD_FAILURE() << "a split over more SMs than the GPU has must be refused";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/gemm_fit/split_k/max_split");
  }
}

}  // namespace kvsim
