// The fit recovers known coefficients from synthetic measurements with seeded noise; tables are
// made monotone; no fitted cost is negative.
#include <cmath>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "calibration/fit/calibration.hpp"
#include "models/catalog/catalog.hpp"

namespace kvsim::calibration {
namespace {

Operation gemm_op(std::int64_t m, std::int64_t n, std::int64_t k) {
  return gemm(OpKind::kQkvProj, LayerStage::kPreAttention, m, n, k, Precision{});
}

}  // namespace

TEST(Fit, RecoversKnownCoefficientsFromNoisyMeasurements) {
  // t = 3 us + 5e-15 s/FLOP x F + 4e-13 s/B x B, times lognormal noise of 2%.
  std::mt19937_64 random(7);
  std::lognormal_distribution<double> noise(0.0, 0.02);
  // Log-uniform sizes, as a benchmark sweep covers them: small kernels pin down the launch term.
  std::uniform_real_distribution<double> f(std::log(1e6), std::log(1e13));
  std::uniform_real_distribution<double> b(std::log(1e3), std::log(1e9));
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (int i = 0; i < 400; ++i) {
    const double flops = std::exp(f(random));
    const double bytes = std::exp(b(random));
    x.push_back({1.0, flops, bytes});
    y.push_back((3e-6 + 5e-15 * flops + 4e-13 * bytes) * noise(random));
  }
  const LinearFit fit = fit_relative(x, y);
  EXPECT_NEAR(fit.coefficients[0], 3e-6, 0.05 * 3e-6);
  EXPECT_NEAR(fit.coefficients[1], 5e-15, 0.05 * 5e-15);
  EXPECT_NEAR(fit.coefficients[2], 4e-13, 0.05 * 4e-13);
  EXPECT_LT(fit.loo_median, 0.03);  // about the noise
}

TEST(Fit, DropsTermsThatWouldGoNegative) {
  // No per-byte cost in the truth; noise must not produce a negative one.
  std::mt19937_64 random(3);
  std::lognormal_distribution<double> noise(0.0, 0.05);
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (int i = 1; i <= 100; ++i) {
    const double flops = 1e10 * i;
    x.push_back({1.0, flops, 1e6 * (100 - i)});
    y.push_back((2e-6 + 4e-15 * flops) * noise(random));
  }
  const LinearFit fit = fit_relative(x, y);
  for (const double c : fit.coefficients) EXPECT_GE(c, 0);
}

TEST(Fit, GemmProfileRecoversTheTileAndWaveModel) {
  // Measurements made by a known quantised model: the fit finds its tile and coefficients.
  const GpuSpec gpu = catalog::gpu("a100-sxm4-80gb");
  GemmFit truth;
  truth.tile_m = 128;
  truth.tile_n = 128;
  truth.sms = gpu.sm_count;
  truth.fit.coefficients = {4e-6, 4.5e-15, 6e-13};
  std::mt19937_64 random(11);
  std::lognormal_distribution<double> noise(0.0, 0.01);
  std::vector<Measurement> ms;
  for (const auto& [n, k] : {std::pair{12288L, 4096L}, {4096L, 4096L}, {22016L, 4096L},
                           {4096L, 11008L}, {1280L, 8192L}}) {
    for (std::int64_t m = 1; m <= 8192; m = m < 64 ? m + 7 : m + 96) {
      const Operation op = gemm_op(m, n, k);
      ms.push_back({op, truth.predict(op) * noise(random), "synthetic", ""});
    }
  }
  const DeviceProfile p = fit_profile(ms, gpu, {"synthetic", {}});
  ASSERT_TRUE(p.gemm);
  EXPECT_EQ(p.gemm->tile_m, 128);
  EXPECT_EQ(p.gemm->tile_n, 128);
  // The rates within 5%; the launch term within 10%: tile padding makes even one-token GEMMs
  // several microseconds of work, so only a few points see the launch cost alone.
  const std::array<double, 3> tolerance{0.10, 0.05, 0.05};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(p.gemm->fit.coefficients[i], truth.fit.coefficients[i],
                tolerance[i] * truth.fit.coefficients[i]);
  }
  EXPECT_EQ(p.tables.size(), 5u);
}

TEST(Fit, GemmProfileRecoversSplitK) {
  // Measurements made by a model that splits k for skinny GEMMs (narrow shards at few tokens):
  // the fit finds the split parameters, the tile and the coefficients.
  const GpuSpec gpu = catalog::gpu("a100-sxm4-80gb");
  GemmFit truth;
  truth.tile_m = 128;
  truth.tile_n = 128;
  truth.sms = gpu.sm_count;
  truth.max_split = 8;
  truth.min_k_slice = 256;
  truth.fit.coefficients = {4e-6, 4.5e-15, 6e-13};
  std::mt19937_64 random(12);
  std::lognormal_distribution<double> noise(0.0, 0.01);
  std::vector<Measurement> ms;
  for (const auto& [n, k] : {std::pair{1536L, 4096L}, {1280L, 8192L}, {4096L, 512L},
                           {4096L, 4096L}, {2752L, 4096L}, {12288L, 4096L}}) {
    for (std::int64_t m = 1; m <= 8192; m = m < 128 ? m + 5 : m + 96) {
      const Operation op = gemm_op(m, n, k);
      ms.push_back({op, truth.predict(op) * noise(random), "synthetic", ""});
    }
  }
  const DeviceProfile p = fit_profile(ms, gpu, {"synthetic", {}});
  ASSERT_TRUE(p.gemm);
  EXPECT_EQ(p.gemm->tile_m, 128);
  EXPECT_EQ(p.gemm->tile_n, 128);
  EXPECT_EQ(p.gemm->max_split, 8);
  EXPECT_EQ(p.gemm->min_k_slice, 256);
  const std::array<double, 3> tolerance{0.10, 0.05, 0.05};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(p.gemm->fit.coefficients[i], truth.fit.coefficients[i],
                tolerance[i] * truth.fit.coefficients[i]);
  }
}

TEST(Fit, TablesAreMadeMonotoneInTokens) {
  // A measured dip (noise: 65 us at 1 token, 63 us at 2) is pooled away.
  const GpuSpec gpu = catalog::gpu("a100-sxm4-80gb");
  std::vector<Measurement> ms{{gemm_op(1, 4096, 4096), 65e-6, "a", ""},
                              {gemm_op(2, 4096, 4096), 63e-6, "b", ""},
                              {gemm_op(4, 4096, 4096), 64e-6, "c", ""},
                              {gemm_op(8, 4096, 4096), 70e-6, "d", ""}};
  const DeviceProfile p = fit_profile(ms, gpu, {"synthetic", {}});
  const auto& pts = p.tables.begin()->second;
  for (std::size_t i = 1; i < pts.size(); ++i) EXPECT_LE(pts[i - 1].seconds, pts[i].seconds);
  EXPECT_DOUBLE_EQ(pts[0].seconds, 64e-6);  // (65 + 63 + 64) / 3
  EXPECT_DOUBLE_EQ(pts[3].seconds, 70e-6);
}

}  // namespace kvsim::calibration

namespace kvsim::calibration {

TEST(Fit, ReadsKvsimMeasurementFiles) {
  const std::string path = ::testing::TempDir() + "/kvsim_measurements.json";
  std::ofstream(path) << R"({"kind": "kvsim-measurements", "date": "2026-11-21",
    "device": {"name": "test"}, "software": {},
    "points": [
      {"op": "gemm", "dtype": "bf16", "m": 128, "n": 4096, "k": 4096, "median_ms": 0.05,
       "spread_ms": 0.001, "repeats": 30, "model": "llama-2-7b", "tp": 1},
      {"op": "gemm", "dtype": "bf16", "m": 256, "n": 4096, "k": 4096, "median_ms": 0.09},
      {"op": "attention", "variant": "fused", "q": 1024, "kv": 2048, "heads": 32,
       "kv_heads": 8, "head_dim": 128, "median_ms": 0.4},
      {"op": "attention", "variant": "eager", "part": "softmax", "q": 1024, "kv": 2048,
       "heads": 32, "kv_heads": 32, "head_dim": 128, "median_ms": 0.3},
      {"op": "copy", "kind": "device_to_device", "bytes": 1048576, "median_ms": 0.01},
      {"op": "decode_attention", "variant": "fused", "kernel": "kvsim-paged-split-kv",
       "block_size": 16, "batch": 16, "kv": 2048, "heads": 32, "kv_heads": 8, "head_dim": 128,
       "model": "llama-3-8b", "median_ms": 0.2},
      {"op": "elementwise", "kind": "input_norm", "tokens": 512, "width": 4096,
       "model": "llama-2-7b", "median_ms": 0.02},
      {"op": "elementwise", "kind": "mlp_act", "tokens": 512, "width": 4096,
       "model": "llama-2-7b", "median_ms": 0.03},
      {"op": "collective", "kind": "all_reduce", "gpus": 2, "bytes": 1048576, "nccl": 22803,
       "median_ms": 0.02}]})";
  const std::vector<Measurement> ms = import_kvsim(path);
  // Two GEMMs, the fused and decode attention, two elementwise kernels; eager parts, copies and
  // collectives are not compute-profile inputs.
  ASSERT_EQ(ms.size(), 6u);
  EXPECT_EQ(ms[0].op.gemm.n, 4096);
  EXPECT_DOUBLE_EQ(ms[1].seconds, 0.09e-3);
  EXPECT_EQ(ms[2].op.kind, OpKind::kAttention);
  EXPECT_EQ(ms[2].op.attention.kv_heads, 8);
  EXPECT_EQ(ms[2].op.attention.kv_tokens, 2048);
  EXPECT_EQ(ms[2].kernel, "unnamed");
  EXPECT_FALSE(ms[3].op.attention.prefill);
  EXPECT_EQ(ms[3].op.attention.batch, 16);
  EXPECT_EQ(ms[3].kernel, "kvsim-paged-split-kv");
  EXPECT_EQ(ms[4].op.kind, OpKind::kInputNorm);
  EXPECT_EQ(ms[4].op.rows, 512);
  EXPECT_EQ(ms[5].op.kind, OpKind::kMlpAct);
  // The elementwise kernels are fitted per kind.
  const DeviceProfile p = fit_profile(ms, catalog::gpu("h100-sxm"), {"test", {}});
  EXPECT_EQ(p.elementwise_by_kind.count(OpKind::kInputNorm), 1u);
  EXPECT_EQ(p.attention_range["kernels"]["decode"], "kvsim-paged-split-kv");

  const std::vector<CollectivePoint> all_reduce = import_kvsim_collective(path, "all_reduce");
  ASSERT_EQ(all_reduce.size(), 1u);
  EXPECT_EQ(all_reduce[0].ranks, 2);
  EXPECT_DOUBLE_EQ(all_reduce[0].bytes, 1048576.0);
  EXPECT_DOUBLE_EQ(all_reduce[0].seconds, 0.02e-3);

  // One profile describes one attention kernel: flash and cuDNN measurements are not pooled.
  std::vector<Measurement> mixed = ms;
  mixed.push_back(ms[2]);
  mixed.back().kernel = "cudnn";
  EXPECT_THROW(fit_profile(mixed, catalog::gpu("h100-sxm"), {"test", {}}), InputError);

  // An elementwise point must name a catalog model whose width it was measured at.
  std::ofstream(path) << R"({"kind": "kvsim-measurements", "points": [
      {"op": "elementwise", "kind": "rotary", "tokens": 8, "width": 5120,
       "model": "llama-2-7b", "median_ms": 1}]})";
  try {
    import_kvsim(path);
    ADD_FAILURE() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/points/0/width");
  }
  // A point with a typo is refused with its pointer.
  std::ofstream(path) << R"({"kind": "kvsim-measurements", "points": [
      {"op": "gemm", "m": 1, "n": 2, "k": 3, "median_ms": 1, "colour": "red"}]})";
  try {
    import_kvsim(path);
    ADD_FAILURE() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/points/0/colour");
  }
}

namespace {

// Writes `text` to a file under the test's temporary directory and returns its path.
std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

// The message of the InputError `f` throws ("" and a test failure when it throws none).
template <typename F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an InputError";
  return "";
}

}  // namespace

TEST(Import, BadVidurRowsAreInputErrorsNamingTheRowNotInternalErrors) {
  const std::string header =
      "n_head,n_kv_head,n_embd,n_expanded_embd,num_tokens,num_tensor_parallel_workers,"
      "time_stats.attn_pre_proj.median\n";
  // Llama-2-7B's shape at TP 3, which does not divide its 32 heads (was exit 3).
  const std::string tp3 = input_error(
      [&] { import_vidur_mlp(write_temp("tp3.csv", header + "32,32,4096,11008,128,3,0.1\n")); });
  EXPECT_NE(tp3.find("row 2: num_tensor_parallel_workers 3 does not divide"), std::string::npos)
      << tp3;
  // No tokens (was exit 3).
  const std::string zero = input_error(
      [&] { import_vidur_mlp(write_temp("zero.csv", header + "32,32,4096,11008,0,1,0.1\n")); });
  EXPECT_NE(zero.find("column 'num_tokens'"), std::string::npos) << zero;
  // 1e30 heads: the float-to-integer cast was undefined behaviour.
  const std::string huge = input_error(
      [&] { import_vidur_mlp(write_temp("huge.csv", header + "1e30,32,4096,11008,8,1,0.1\n")); });
  EXPECT_NE(huge.find("column 'n_head'"), std::string::npos) << huge;

  const std::string attention_header =
      "num_tensor_parallel_workers,kv_cache_size,is_prefill,prefill_chunk_size,batch_size,"
      "median_ms\n";
  const LlmSpec llama = catalog::llm("llama-2-7b");
  const std::string chunk = input_error([&] {
    import_vidur_attention(write_temp("a0.csv", attention_header + "1,0,True,0,1,0.1\n"), llama);
  });
  EXPECT_NE(chunk.find("column 'prefill_chunk_size'"), std::string::npos) << chunk;
  const std::string attention_tp = input_error([&] {
    import_vidur_attention(write_temp("a3.csv", attention_header + "3,0,True,8,1,0.1\n"), llama);
  });
  EXPECT_NE(attention_tp.find("does not divide"), std::string::npos) << attention_tp;
}

TEST(Import, MeasuredShapesBeyondTheLimitsAreRefusedWithTheirPointer) {
  const std::string path = write_temp("big.json", R"({"kind": "kvsim-measurements", "points": [
      {"op": "attention", "q": 8, "kv": 8, "heads": 32, "kv_heads": 8,
       "head_dim": 1000000000, "median_ms": 1}]})");
  try {
    import_kvsim(path);
    ADD_FAILURE() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.pointer(), "/points/0/head_dim");
  }
}

TEST(Import, CollectivesOfEveryKindComeFromOneRead) {
  const std::string path = write_temp("coll.json", R"({"kind": "kvsim-measurements", "points": [
      {"op": "collective", "kind": "all_reduce", "gpus": 2, "bytes": 1024, "median_ms": 0.01},
      {"op": "collective", "kind": "send_recv", "gpus": 2, "bytes": 2048, "median_ms": 0.02},
      {"op": "collective", "kind": "all_reduce", "gpus": 4, "bytes": 4096, "median_ms": 0.03}]})");
  auto by_kind = import_kvsim_collectives(path);
  ASSERT_EQ(by_kind["all_reduce"].size(), 2u);
  ASSERT_EQ(by_kind["send_recv"].size(), 1u);
  EXPECT_DOUBLE_EQ(by_kind["send_recv"][0].bytes, 2048.0);
}

}  // namespace kvsim::calibration
