// No silent roofline for attention: the shipped H100 profile has no attention measurements, so
// its fused attention is derived from the A100's (models/compute/attention_derivation.hpp), says
// so in its provenance, and its scenario warns.
#include <algorithm>

#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "models/compute/attention_derivation.hpp"
#include "sim/scenario/scenario.hpp"

namespace kvsim {
namespace {

CalibratedModel model_for(const std::string& gpu) {
  return CalibratedModel(catalog::gpu(gpu), shipped_profile(gpu), {});
}

Operation attention_of(const std::vector<Operation>& ops) {
  for (const auto& op : ops) {
    if (op.kind == OpKind::kAttention) return op;
  }
  throw std::logic_error("no attention");
}

}  // namespace

TEST(DerivedAttention, H100AttentionComesFromTheA100AndSaysSo) {
  const CalibratedModel h100 = model_for("h100-sxm");
  const CalibratedModel a100 = model_for("a100-sxm4-80gb");
  EXPECT_EQ(h100.attention_source(), "a100-sxm4-80gb");
  EXPECT_EQ(a100.attention_source(), "");
  const LlmSpec llama = catalog::llm("llama-2-7b");
  const Operation op = attention_of(prefill_layer(llama, {8192, 8192, Mask::kCausal}, {}));
  EXPECT_EQ(h100.cost(op).provenance, Provenance::kDerived);
  EXPECT_EQ(to_string(h100.cost(op).provenance), "derived");
  EXPECT_NE(h100.describe().find("attention derived from a100-sxm4-80gb"), std::string::npos);
  ASSERT_EQ(h100.warnings(Precision{}).size(), 1u);
  EXPECT_NE(h100.warnings(Precision{})[0].find("derived from a100-sxm4-80gb"), std::string::npos);
  EXPECT_TRUE(a100.warnings(Precision{}).empty());
}

TEST(DerivedAttention, H100PrefillAt8kIsTheA100TimeOverAboutThePeakRatio) {
  // Dense fp16 peaks 989 / 312 = 3.17. The rule carries the A100's attention-to-GEMM efficiency
  // over: at full occupancy t_H100 = t_A100 x (A100 GEMM rate / H100 GEMM rate), the fitted
  // GEMM rates differing about 3.4x; the waves differ (132 against 108 SMs). So the H100 takes
  // the A100's time over 2.5-4.5 (the roofline it replaces was 11x faster).
  const LlmSpec llama = catalog::llm("llama-2-7b");
  const Operation op = attention_of(prefill_layer(llama, {8192, 8192, Mask::kCausal}, {}));
  const double a100 = model_for("a100-sxm4-80gb").cost(op).seconds;
  const double h100 = model_for("h100-sxm").cost(op).seconds;
  EXPECT_GT(a100 / h100, 2.5);
  EXPECT_LT(a100 / h100, 4.5);
}

TEST(DerivedAttention, DecodeScalesByTheHbmBandwidthAtFullOccupancy) {
  // A large decode batch (every split 1, many waves): the work terms scale by SMs / bandwidth
  // per SM, the waves by 108 / 132, so the step costs about t_A100 x 2.04 / 3.35 TB/s (0.61),
  // launch terms aside.
  const LlmSpec llama = catalog::llm("llama-2-7b");
  const Operation op = attention_of(decode_layer(llama, std::vector<std::int64_t>(128, 4096), {}));
  const double a100 = model_for("a100-sxm4-80gb").cost(op).seconds;
  const double h100 = model_for("h100-sxm").cost(op).seconds;
  const double ratio = catalog::gpu("a100-sxm4-80gb").hbm_bandwidth /
                       catalog::gpu("h100-sxm").hbm_bandwidth;
  EXPECT_NEAR(h100 / a100, ratio, 0.15 * ratio);
}

TEST(DerivedAttention, ScalesEachTermByTheDocumentedRule) {
  const DeviceProfile a = shipped_profile("a100-sxm4-80gb");
  const DeviceProfile h = shipped_profile("h100-sxm");
  const GpuSpec ga = catalog::gpu("a100-sxm4-80gb");
  const GpuSpec gh = catalog::gpu("h100-sxm");
  const DerivedAttention d = derive_attention(a, ga, h, gh);
  // prefill: (H100 GEMM s/FLOP x 132) / (A100 GEMM s/FLOP x 108)
  const double prefill = (h.gemm->fit.coefficients[1] * 132) / (a.gemm->fit.coefficients[1] * 108);
  EXPECT_DOUBLE_EQ(d.prefill_scale, prefill);
  for (const std::size_t work : {1u, 2u, 3u, 6u}) {  // the terms per slot
    EXPECT_DOUBLE_EQ(d.prefill->fit.coefficients[work],
                     a.attention_prefill->fit.coefficients[work] * prefill);
  }
  EXPECT_EQ(d.prefill->sms, 132);
  // decode: (132 / H100 bandwidth) / (108 / A100 bandwidth); launch carried over unchanged.
  EXPECT_DOUBLE_EQ(d.decode_scale, (132 / gh.hbm_bandwidth) / (108 / ga.hbm_bandwidth));
  EXPECT_DOUBLE_EQ(d.decode->fit.coefficients[0], a.attention_decode->fit.coefficients[0]);
  EXPECT_DOUBLE_EQ(d.decode->fit.coefficients[4],
                   a.attention_decode->fit.coefficients[4] * ga.hbm_bandwidth / gh.hbm_bandwidth);
}

TEST(DerivedAttention, ScenarioOnACalibratedH100Warns) {
  const ConfigDocument doc = ConfigDocument::parse(R"({
    "name": "h100", "model": "llama-2-7b",
    "cluster": { "gpu": "h100-sxm", "topology": { "type": "nvswitch", "gpus": 1 } },
    "compute": { "type": "calibrated", "profile": "h100-sxm" },
    "prefill": { "context_tokens": 8192, "strategies": [ { "type": "single" } ] } })",
                                                   "h100.json");
  const Scenario s = load_scenario(doc);
  EXPECT_TRUE(std::any_of(s.warnings.begin(), s.warnings.end(), [](const std::string& w) {
    return w.find("at /compute: calibrated profile h100-sxm has no attention measurements") !=
               std::string::npos &&
           w.find("derived from a100-sxm4-80gb") != std::string::npos;
  }));
}

}  // namespace kvsim
