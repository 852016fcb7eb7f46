// A disaggregated pool's compute model (sim/serving/disaggregation/pool_hardware.hpp): the
// scenario's /compute node as the user gave it, resolved for the pool's GPU. A profile file
// (not the shipped profile of the same internal name), /compute/fallback and the roofline
// parameters given all reach a pool on another GPU type; a pool on /cluster/gpu shares the
// scenario's model, fast paths included.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "tests/core/scratch_folder.hpp"
#include "models/catalog/catalog.hpp"
#include "models/llm/operations.hpp"
#include "sim/serving/disaggregation/pool_hardware.hpp"

namespace kvsim::serving::disaggregation {
namespace {

// Two servers of 4 `gpu`s, each GPU with its own NIC: a pool on GPUs 4-7 is on the second.
// A null `compute` leaves /compute out. `directory` anchors relative paths (default: the file's).
Scenario load(const std::string& gpu, const Json& compute, const std::string& file,
              std::optional<std::string> directory = {}) {
  const Json cluster{{"gpu", gpu},
                     {"topology",
                      {{"type", "multi-node"},
                       {"nodes", 2},
                       {"gpus_per_node", 4},
                       {"nic", {{"bandwidth", "50GB/s"}}}}}};
  Json scenario{{"model", "llama-2-7b"},
                {"cluster", cluster},
                {"decode", {{"batch_size", 1}, {"context_tokens", 128}}}};
  if (!compute.is_null()) scenario["compute"] = compute;
  return load_scenario(ConfigDocument(std::move(scenario), file, std::move(directory)));
}

// The decode pool on GPUs 4-7 of `s`, on `gpu`: its scenario, and the warnings it gave.
struct Pool {
  std::shared_ptr<const Scenario> scenario;
  std::vector<std::string> warnings;
};
Pool decode_pool(const Scenario& s, const std::string& gpu) {
  Pool p;
  const PoolGpus pool{{4, 5, 6, 7}, catalog::gpu(gpu), "decode"};
  p.scenario = pool_scenario(s, pool, *s.topology, p.warnings);
  return p;
}

// The o_proj GEMM of Llama-2-7B (4096 x 4096) at 64 rows: a point the A100 profile measured.
Operation measured_gemm() {
  return gemm(OpKind::kOutProj, LayerStage::kPostAttention, 64, 4096, 4096, Precision());
}

// The shipped A100 80GB profile with every measured point's time doubled (its fits unchanged),
// named `name` inside, written as `folder`/scaled.json.
void write_scaled_profile(const std::filesystem::path& folder, const std::string& name) {
  Json profile = catalog::profile_document("a100-sxm4-80gb").json();
  profile["name"] = name;
  for (Json& table : profile["tables"]) {
    for (Json& point : table["points"]) point[1] = 2 * point[1].get<double>();
  }
  std::ofstream(folder / "scaled.json") << profile.dump();
}

}  // namespace

TEST(PoolCompute, AProfileFileReachesAPoolOnAnotherGpuOfItsGeneration) {
  // The A100 40GB pool's cost of a measured GEMM is the 80GB measurement x fit_40 / fit_80
  // (derived_profile.hpp, rule 1): doubling every measured time doubles it exactly (a power of
  // two), so the file's profile prices the pool at 2 x what the shipped profile does (58.4 us
  // against 29.2 us for this GEMM), whether its internal name is the shipped profile's or one
  // kvsim does not ship. The path is relative to the scenario file, or to the folder a document
  // names (a sweep point's: its sweep file's).
  const Scenario shipped =
      load("a100-sxm4-80gb", {{"type", "calibrated"}, {"profile", "a100-sxm4-80gb"}}, "s.json");
  const Pool shipped_pool = decode_pool(shipped, "a100-sxm4-40gb");
  const OpCost base = shipped_pool.scenario->compute->cost(measured_gemm());
  ASSERT_EQ(base.provenance, Provenance::kDerived);
  for (const bool shipped_name : {true, false}) {
    const std::string name = shipped_name ? "a100-sxm4-80gb" : "my-a100";
    const std::filesystem::path folder = scratch_folder("pool-compute-" + name);
    write_scaled_profile(folder, name);
    const Json compute{{"type", "calibrated"}, {"profile", "scaled.json"}};
    const Scenario s = shipped_name
                           ? load("a100-sxm4-80gb", compute, (folder / "serving.json").string())
                           : load("a100-sxm4-80gb", compute, "point 1", folder.string());
    // The cluster's own model reads the file: 2 x the shipped measurement.
    EXPECT_DOUBLE_EQ(s.compute->cost(measured_gemm()).seconds,
                     2 * shipped.compute->cost(measured_gemm()).seconds);
    const Pool pool = decode_pool(s, "a100-sxm4-40gb");
    const OpCost cost = pool.scenario->compute->cost(measured_gemm());
    EXPECT_DOUBLE_EQ(cost.seconds, 2 * base.seconds) << name;
    EXPECT_EQ(cost.provenance, Provenance::kDerived) << name;
    EXPECT_EQ(pool.scenario->compute->to_json()["type"], "calibrated") << name;
    for (const std::string& w : pool.warnings) {
      EXPECT_EQ(w.find("priced by the roofline"), std::string::npos) << name << ": " << w;
    }
  }
}

TEST(PoolCompute, FallbackParametersReachAPoolOnAnotherGpu) {
  // An fp32 GEMM is not in a 16-bit profile: the roofline prices it with /compute/fallback's
  // parameters on the pool's GPU, max(FLOPs / (fp32 peak x 0.5), bytes / (HBM x 0.25)) + 1 ms
  // (2 x 4096^3 FLOPs at 19.5 TFLOP/s x 0.5: 14.1 ms), where the GPU's defaults (0.75, 0.8,
  // 4 us) would give 9.4 ms.
  const Json fallback{
      {"compute_efficiency", 0.5}, {"memory_efficiency", 0.25}, {"launch_overhead", "1ms"}};
  const Scenario s = load(
      "a100-sxm4-80gb",
      {{"type", "calibrated"}, {"profile", "a100-sxm4-80gb"}, {"fallback", fallback}}, "s.json");
  const Pool pool = decode_pool(s, "a100-sxm4-40gb");
  const Operation op = gemm(OpKind::kOutProj, LayerStage::kPostAttention, 4096, 4096, 4096,
                            Precision(DType::kFp32, DType::kFp32, DType::kFp16));
  const GpuSpec gpu = catalog::gpu("a100-sxm4-40gb");
  const double expected = std::max(op.flops / (gpu.peak_flops(DType::kFp32) * 0.5),
                                   op.bytes() / (gpu.hbm_bandwidth * 0.25)) +
                          1e-3;
  const OpCost cost = pool.scenario->compute->cost(op);
  EXPECT_EQ(cost.provenance, Provenance::kRoofline);
  EXPECT_NEAR(cost.seconds, expected, 1e-12 * expected);

  // A profile that cannot price the pool's GPU (the H100's, another SM generation): the pool is
  // priced by the roofline with the fallback's parameters, and the warning says so.
  const Scenario h100 = load(
      "h100-sxm", {{"type", "calibrated"}, {"profile", "h100-sxm"}, {"fallback", fallback}},
      "s.json");
  const Pool a100 = decode_pool(h100, "a100-sxm4-80gb");
  const Json roofline = a100.scenario->compute->to_json();
  EXPECT_EQ(roofline["type"], "roofline");
  EXPECT_EQ(roofline["compute_efficiency"], 0.5);
  EXPECT_EQ(roofline["memory_efficiency"], 0.25);
  EXPECT_EQ(roofline["launch_overhead"], "1000us");
  ASSERT_EQ(a100.warnings.size(), 1U);
  EXPECT_NE(a100.warnings[0].find("the decode pool's a100-sxm4-80gb is priced by the roofline "
                                  "with /compute/fallback's parameters"),
            std::string::npos)
      << a100.warnings[0];
}

TEST(PoolCompute, RooflineParametersGivenReachThePoolItsGpusDefaultsTheRest) {
  // An H100 cluster (no achieved figures: 0.75 and 0.8 by default) with an H200 pool (its
  // achieved GEMMs: 794.5 / 989 bf16, 1453.4 / 1979 fp8). A parameter the scenario gives is the
  // pool's, even one equal to the H100's default; an fp8 efficiency is the GPU's only where
  // the scenario gives no compute efficiency.
  const GpuSpec h200 = catalog::gpu("h200");
  const double bf16 = h200.achieved_bf16_matmul / h200.bf16_flops;
  const double fp8 = h200.achieved_fp8_matmul / h200.fp8_flops;
  const auto pool_roofline = [](const Json& compute) {
    const Scenario s = load("h100-sxm", compute, "s.json");
    return decode_pool(s, "h200").scenario->compute->to_json();
  };
  Json r = pool_roofline({{"type", "roofline"}, {"memory_efficiency", 0.5}});
  EXPECT_EQ(r["memory_efficiency"], 0.5);
  EXPECT_EQ(r["compute_efficiency"], bf16);
  EXPECT_EQ(r["fp8_compute_efficiency"], fp8);
  EXPECT_EQ(r["launch_overhead"], "4us");
  r = pool_roofline({{"type", "roofline"}, {"compute_efficiency", 0.75}});
  EXPECT_EQ(r["compute_efficiency"], 0.75);
  EXPECT_FALSE(r.contains("fp8_compute_efficiency"));
  EXPECT_EQ(r["memory_efficiency"], h200.achieved_hbm > 0 ? h200.achieved_hbm / h200.hbm_bandwidth
                                                          : 0.8);
  r = pool_roofline({{"type", "roofline"}, {"launch_overhead", "10us"}});
  EXPECT_EQ(r["launch_overhead"], "10us");
  EXPECT_EQ(r["compute_efficiency"], bf16);
  r = pool_roofline(Json());  // no /compute: the roofline with the pool GPU's defaults
  EXPECT_EQ(r["compute_efficiency"], bf16);
  EXPECT_EQ(r["fp8_compute_efficiency"], fp8);
}

TEST(PoolCompute, APoolOnTheClusterGpuKeepsTheDecodeAttentionFastPath) {
  // The calibrated model has a decode-attention pricer (the compiled cost's fast path); the
  // pool on /cluster/gpu shares the model, so it has one too, pricing as cost() does.
  const Scenario s =
      load("a100-sxm4-80gb", {{"type", "calibrated"}, {"profile", "a100-sxm4-80gb"}}, "s.json");
  const Pool pool = decode_pool(s, "a100-sxm4-80gb");
  const std::vector<std::int64_t> kv{300, 500};
  Operation attention;
  for (const Operation& op : decode_layer(s.model, kv, s.decompose_options(1))) {
    if (op.kind == OpKind::kAttention) attention = op;
  }
  ASSERT_EQ(attention.kind, OpKind::kAttention);
  ASSERT_NE(s.compute->decode_attention_pricer(attention), nullptr);
  const auto pricer = pool.scenario->compute->decode_attention_pricer(attention);
  ASSERT_NE(pricer, nullptr);
  EXPECT_EQ(pricer->seconds(attention), s.compute->cost(attention).seconds);
}

TEST(PoolCompute, TheResolvedScenarioNamesAProfileFileSoItLoadsAgainToTheSameModel) {
  // scenario.resolved.json is loadable again: a profile file whose internal name is a shipped
  // profile's is written as its absolute path (its name would load the shipped profile, at
  // half the file's times), with /compute/fallback as given; a shipped profile by its name.
  const std::filesystem::path folder = scratch_folder("resolved-profile-file");
  write_scaled_profile(folder, "a100-sxm4-80gb");
  const Json given{{"type", "calibrated"},
                   {"profile", "scaled.json"},
                   {"fallback", {{"memory_efficiency", 0.5}}}};
  const Scenario s = load("a100-sxm4-80gb", given, (folder / "s.json").string());
  const Json& written = s.resolved.at("compute");
  EXPECT_EQ(written.at("profile"),
            std::filesystem::absolute(folder / "scaled.json").lexically_normal().string());
  EXPECT_EQ(written.at("fallback"), given.at("fallback"));
  // Loaded again from another folder, it prices the file's times.
  const Scenario again = load("a100-sxm4-80gb", written, "elsewhere/s.json");
  const double file_seconds = s.compute->cost(measured_gemm()).seconds;
  EXPECT_EQ(again.compute->cost(measured_gemm()).seconds, file_seconds);
  const Scenario shipped =
      load("a100-sxm4-80gb", {{"type", "calibrated"}, {"profile", "a100-sxm4-80gb"}}, "s.json");
  EXPECT_EQ(shipped.resolved.at("compute"),
            (Json{{"type", "calibrated"}, {"profile", "a100-sxm4-80gb"}}));
  EXPECT_EQ(file_seconds, 2 * shipped.compute->cost(measured_gemm()).seconds);
}

}  // namespace kvsim::serving::disaggregation
