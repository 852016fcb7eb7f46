// The shipped calibrated model: provenance by where a query falls, monotone in tokens, never
// below the physical floor, and selectable from a scenario.
#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "models/compute/calibrated.hpp"
#include "sim/scenario/scenario.hpp"

namespace kvsim {
namespace {

CalibratedModel a100() {
  return CalibratedModel(catalog::gpu("a100-sxm4-80gb"), shipped_profile("a100-sxm4-80gb"), {});
}

const Operation& op_of(const std::vector<Operation>& ops, OpKind kind) {
  for (const auto& op : ops) {
    if (op.kind == kind) return op;
  }
  throw std::logic_error("no such op");
}

}  // namespace

TEST(Calibrated, ProvenanceSaysWhereTheAnswerCameFrom) {
  const CalibratedModel m = a100();
  const LlmSpec llama = catalog::llm("llama-2-7b");
  auto qkv = [&](std::int64_t tokens) {
    return op_of(prefill_layer(llama, {tokens, tokens, Mask::kCausal}, {}), OpKind::kQkvProj);
  };
  EXPECT_EQ(m.cost(qkv(4096)).provenance, Provenance::kMeasured);      // Vidur measured 4096
  EXPECT_EQ(m.cost(qkv(4100)).provenance, Provenance::kExtrapolated);  // past the last point
  EXPECT_EQ(m.cost(qkv(4080)).provenance, Provenance::kInterpolated);  // between 4064 and 4096
  // A shape no table holds (Falcon's fused QKV) comes from the fitted model.
  const LlmSpec falcon = catalog::llm("falcon-7b");
  EXPECT_EQ(m.cost(op_of(prefill_layer(falcon, {512, 512, Mask::kCausal}, {}),
                         OpKind::kQkvProj))
                .provenance,
            Provenance::kExtrapolated);
  // fp8 is not calibrated: the roofline answers and says so.
  DecomposeOptions fp8;
  fp8.precision.activations = DType::kFp8;
  EXPECT_EQ(m.cost(op_of(prefill_layer(llama, {512, 512, Mask::kCausal}, fp8), OpKind::kQkvProj))
                .provenance,
            Provenance::kRoofline);
  // 8-bit weights under 16-bit math (W8A16, fp8 on an A100) start from the 16-bit measurement
  // and say so.
  DecomposeOptions w8a16;
  w8a16.precision.weights = DType::kFp8;
  EXPECT_EQ(m.cost(qkv(4096)).provenance, Provenance::kMeasured);
  EXPECT_EQ(m.cost(op_of(prefill_layer(llama, {4096, 4096, Mask::kCausal}, w8a16),
                         OpKind::kQkvProj))
                .provenance,
            Provenance::kMeasured);
}

// W8A16 = the measured 16-bit kernel less what reading half its weights at HBM peak saves, never
// below the 8-bit roofline: compute-bound prefill gains next to nothing (the math is 16-bit),
// memory-bound decode gains the weight reads.
TEST(Calibrated, WeightOnlyEightBitSavesOnlyTheWeightReads) {
  const CalibratedModel m = a100();
  const GpuSpec gpu = catalog::gpu("a100-sxm4-80gb");
  const LlmSpec llama = catalog::llm("llama-2-7b");
  DecomposeOptions w8a16;
  w8a16.precision.weights = DType::kFp8;
  for (const std::int64_t tokens : {1, 16, 512, 4096}) {
    const Operation op16 = op_of(prefill_layer(llama, {tokens, tokens, Mask::kCausal}, {}),
                                 OpKind::kQkvProj);
    const Operation op8 = op_of(prefill_layer(llama, {tokens, tokens, Mask::kCausal}, w8a16),
                                OpKind::kQkvProj);
    // QKV of Llama-2-7B: 4096 x 12288 weights; fp16 2 B, fp8 1 B each: 50.3 MB saved, 24.6 us
    // at the A100's HBM peak.
    const double saved = (op16.weight_bytes - op8.weight_bytes) / gpu.hbm_bandwidth;
    EXPECT_NEAR(saved, 4096.0 * 12288.0 / gpu.hbm_bandwidth, 1e-12);
    const double t16 = m.cost(op16).seconds;
    const double t8 = m.cost(op8).seconds;
    EXPECT_LE(t8, t16) << tokens;
    EXPECT_GE(t8, t16 - saved - 1e-12) << tokens;
    EXPECT_GE(t8, op8.flops / gpu.peak_flops(op8.dtype)) << tokens;  // 16-bit math at peak
  }
}

TEST(Calibrated, MonotoneInTokensAndNeverBelowThePhysicalFloor) {
  const CalibratedModel m = a100();
  const GpuSpec gpu = catalog::gpu("a100-sxm4-80gb");
  for (const std::string name : {"llama-2-7b", "llama-3-70b", "mistral-7b", "falcon-7b", "phi-2"}) {
    const LlmSpec spec = catalog::llm(name);
    for (const std::int64_t tp : {1, 2, 8}) {
      if (spec.heads % tp != 0) continue;
      DecomposeOptions o;
      o.tensor_parallel = tp;
      std::vector<double> previous;
      // Past Mistral-7B's 4096-token window its attention stops growing, never shrinks.
      const std::int64_t longest = 32768;
      for (std::int64_t tokens = 1; tokens <= longest;
           tokens = tokens < 128 ? tokens + 1 : tokens * 5 / 4) {
        const auto ops = prefill_layer(spec, {tokens, tokens, Mask::kCausal}, o);
        for (std::size_t i = 0; i < ops.size(); ++i) {
          const double t = m.cost(ops[i]).seconds;
          const double floor = std::max(ops[i].flops / gpu.peak_flops(ops[i].dtype),
                                        ops[i].bytes() / gpu.hbm_bandwidth);
          ASSERT_GE(t, floor) << name << " tp" << tp << " " << to_string(ops[i].kind) << " @ "
                              << tokens;
          if (previous.size() == ops.size()) {
            ASSERT_GE(t, previous[i] * (1 - 1e-12))
                << name << " tp" << tp << " " << to_string(ops[i].kind) << " @ " << tokens;
          }
        }
        previous.clear();
        for (const auto& op : ops) previous.push_back(m.cost(op).seconds);
      }
    }
  }
}

TEST(Calibrated, ScenariosSelectAProfileByNameAndCheckTheDevice) {
  Json j = Json::parse(R"({"model": "llama-2-7b", "cluster": {"gpu": "a100-sxm4-80gb"},
      "compute": {"type": "calibrated", "profile": "a100-sxm4-80gb"},
      "prefill": {"context_tokens": 2048, "strategies": [{"type": "single"}]}})");
  const Scenario s = load_scenario(ConfigDocument(j, "calibrated.json"));
  EXPECT_NE(s.compute->describe().find("a100-sxm4-80gb"), std::string::npos);
  j["cluster"]["gpu"] = "h100-sxm";
  try {
    load_scenario(ConfigDocument(j, "calibrated.json"));
    ADD_FAILURE() << "an A100 profile on an H100 must be refused";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/compute/profile");
    EXPECT_NE(e.message().find("measured on a100-sxm4-80gb"), std::string::npos);
  }
  j["compute"]["profile"] = "a100";
  try {
    load_scenario(ConfigDocument(j, "calibrated.json"));
    ADD_FAILURE() << "unknown profile";
  } catch (const InputError& e) {
    EXPECT_NE(e.message().find("a100-sxm4-80gb"), std::string::npos);
  }
}

}  // namespace kvsim
