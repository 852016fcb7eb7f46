// The GPU catalog's newer entries (models/catalog/gpus): each loads, and its roofline peaks are
// the spec sheet's (the values in its "source").

#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "sim/core/input_error.hpp"

namespace kvsim {
namespace {

struct Sheet {
  const char* name;
  double bf16_tflops, fp8_tflops, fp4_tflops;  // dense
  double hbm_gb, hbm_tb_per_s;
  int sms;                     // SMs, or CUs on AMD parts
  double scale_up_gb_per_s;    // one direction, all links together
  double mesh_link_gb_per_s;   // 0: through a switch
};

// The numbers each catalog file cites (NVIDIA and AMD data sheets; shared/data/gpus.md).
const Sheet kSheets[] = {
    {"h200", 989, 1979, 0, 141, 4.8, 132, 450, 0},
    {"b200", 2250, 4500, 9000, 180, 8.0, 148, 900, 0},
    {"gb200", 2500, 5000, 10000, 186, 8.0, 148, 900, 0},
    {"b300", 2250, 4500, 12600, 288, 8.0, 160, 900, 0},
    {"mi300x", 1307.4, 2614.9, 0, 192, 5.3, 304, 448, 64},
    {"mi325x", 1307.4, 2614.9, 0, 256, 6.0, 304, 448, 64},
    {"mi355x", 2516.6, 5033.2, 10066.3, 288, 8.0, 256, 535.5, 76.5},
    {"l40s", 362.05, 733, 0, 48, 0.864, 142, 0, 0},
    {"h20", 148, 296, 0, 96, 4.0, 78, 450, 0},
};

// A minimal valid GPU file.
Json to_json_sheet() {
  return Json{{"name", "x"},           {"source", "test"},
              {"fp16_dense", "1TFLOP/s"}, {"bf16_dense", "1TFLOP/s"},
              {"int8_dense", "1TOP/s"},   {"fp32", "1TFLOP/s"},
              {"hbm_capacity", "1GB"},    {"hbm_bandwidth", "1TB/s"},
              {"sm_count", 1},            {"l2_cache", "1MB"},
              {"nvlink_bandwidth", "0GB/s"}, {"pcie_generation", 5},
              {"pcie_bandwidth", "1GB/s"}};
}

}  // namespace

TEST(GpuCatalog, NewerPartsLoadWithTheirSpecSheetPeaks) {
  for (const Sheet& s : kSheets) {
    SCOPED_TRACE(s.name);
    const GpuSpec g = catalog::gpu(s.name);
    EXPECT_FALSE(g.source.empty());
    EXPECT_DOUBLE_EQ(g.peak_flops(DType::kBf16), s.bf16_tflops * 1e12);
    EXPECT_DOUBLE_EQ(g.peak_flops(DType::kFp16), s.bf16_tflops * 1e12);
    EXPECT_DOUBLE_EQ(g.peak_flops(DType::kFp8), s.fp8_tflops * 1e12);
    // Without FP4 tensor cores fp4 math is priced at the 16-bit rate (weight-only W4A16).
    EXPECT_DOUBLE_EQ(g.peak_flops(DType::kMxfp4),
                     (s.fp4_tflops > 0 ? s.fp4_tflops : s.bf16_tflops) * 1e12);
    EXPECT_DOUBLE_EQ(g.hbm_bytes, s.hbm_gb * 1e9);
    EXPECT_DOUBLE_EQ(g.hbm_bandwidth, s.hbm_tb_per_s * 1e12);
    EXPECT_EQ(g.sm_count, s.sms);
    EXPECT_DOUBLE_EQ(g.nvlink_bandwidth, s.scale_up_gb_per_s * 1e9);
    EXPECT_DOUBLE_EQ(g.mesh_link_bandwidth, s.mesh_link_gb_per_s * 1e9);
  }
}

TEST(GpuCatalog, Fp4FormatsAreThoseTheTensorCoresMultiply) {
  EXPECT_TRUE(catalog::gpu("b200").multiplies(DType::kNvfp4));
  EXPECT_TRUE(catalog::gpu("b200").multiplies(DType::kMxfp4));
  EXPECT_TRUE(catalog::gpu("mi355x").multiplies(DType::kMxfp4));
  EXPECT_FALSE(catalog::gpu("mi355x").multiplies(DType::kNvfp4));  // OCP MX formats only
  EXPECT_FALSE(catalog::gpu("h200").multiplies(DType::kNvfp4));
  EXPECT_FALSE(catalog::gpu("a100-sxm4-80gb").multiplies(DType::kFp8));
  EXPECT_FALSE(catalog::gpu("b200").multiplies(DType::kInt4));  // weight-only everywhere
  // The mesh's links add up to the scale-up bandwidth: 7 peers x 64 GB/s = 448 GB/s.
  const GpuSpec mi300x = catalog::gpu("mi300x");
  EXPECT_DOUBLE_EQ(7 * mi300x.mesh_link_bandwidth, mi300x.nvlink_bandwidth);
}

TEST(GpuCatalog, Fp4FormatsNeedAnFp4Rate) {
  const auto refusal = [](const Json& j) -> std::string {
    try {
      (void)parse_gpu_spec(ConfigNode(&j, "gpu.json", Json::json_pointer()));
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  };
  Json j = to_json_sheet();
  EXPECT_EQ(refusal(j), "");
  j["fp4_formats"] = Json::array({"nvfp4"});  // formats without a rate
  EXPECT_NE(refusal(j).find("fp4 formats need an \"fp4_dense\" rate"), std::string::npos)
      << refusal(j);
  j["fp4_dense"] = "9000TFLOP/s";
  EXPECT_EQ(refusal(j), "");
  j["fp4_formats"] = Json::array({"int4"});  // not a 4-bit floating-point format
  EXPECT_NE(refusal(j).find("'int4' is not allowed here"), std::string::npos) << refusal(j);
}

}  // namespace kvsim
