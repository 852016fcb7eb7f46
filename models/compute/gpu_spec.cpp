#include "models/compute/gpu_spec.hpp"

#include <algorithm>

namespace kvsim {

double GpuSpec::peak_flops(DType t) const {
  switch (t) {
    case DType::kFp32: return fp32_flops;
    case DType::kFp16: return fp16_flops;
    case DType::kBf16: return bf16_flops;
    // Without FP8 tensor cores an FP8 GEMM runs as W8A16 (precision_on_gpu.hpp), never at the
    // INT8 rate: FP8 and INT8 are different formats and only Hopper and later multiply FP8.
    case DType::kFp8: return fp8_flops > 0 ? fp8_flops : fp16_flops;
    case DType::kInt8: return int8_ops > 0 ? int8_ops : fp16_flops;
    case DType::kInt4: return fp16_flops;
    case DType::kNvfp4:
    case DType::kMxfp4: return multiplies(t) ? fp4_flops : fp16_flops;
  }
  return fp16_flops;
}

bool GpuSpec::multiplies(DType t) const {
  if (t == DType::kFp8) return fp8_flops > 0;
  if (is_fp4(t)) return std::find(fp4_formats.begin(), fp4_formats.end(), t) != fp4_formats.end();
  return t != DType::kInt4;
}

namespace {

// The optional fields of newer parts: fp4 rate and formats, a scale-up mesh, achieved figures.
void read_precision_support(const ConfigNode& node, GpuSpec& g) {
  if (const auto fp4 = node.find("fp4_dense")) {
    g.fp4_flops = fp4->as_flop_rate();
    for (const ConfigNode& f : node.at("fp4_formats").elements()) {
      g.fp4_formats.push_back(parse_dtype(f.as_one_of({"nvfp4", "mxfp4"})));
    }
    if (g.fp4_formats.empty()) node.at("fp4_formats").fail("list at least one of nvfp4, mxfp4");
  } else if (node.has("fp4_formats")) {
    node.at("fp4_formats").fail("fp4 formats need an \"fp4_dense\" rate");
  }
  if (const auto mesh = node.find("mesh_link_bandwidth")) g.mesh_link_bandwidth = mesh->as_bandwidth();
  if (const auto a = node.find("achieved")) {
    g.achieved_source = a->string("source");
    if (const auto v = a->find("bf16_matmul")) g.achieved_bf16_matmul = v->as_flop_rate();
    if (const auto v = a->find("fp8_matmul")) g.achieved_fp8_matmul = v->as_flop_rate();
    if (const auto v = a->find("hbm")) g.achieved_hbm = v->as_bandwidth();
    a->finish();
  }
}

}  // namespace

GpuSpec parse_gpu_spec(const ConfigNode& node) {
  GpuSpec g;
  g.name = node.string("name");
  g.source = node.string("source");
  g.fp16_flops = node.at("fp16_dense").as_flop_rate();
  g.bf16_flops = node.at("bf16_dense").as_flop_rate();
  g.fp8_flops = node.has("fp8_dense") ? node.at("fp8_dense").as_flop_rate() : 0.0;
  g.int8_ops = node.at("int8_dense").as_flop_rate();
  g.fp32_flops = node.at("fp32").as_flop_rate();
  g.hbm_bytes = node.at("hbm_capacity").as_bytes();
  g.hbm_bandwidth = node.at("hbm_bandwidth").as_bandwidth();
  g.sm_count = static_cast<int>(node.count("sm_count"));
  g.l2_bytes = node.at("l2_cache").as_bytes();
  g.nvlink_bandwidth = node.at("nvlink_bandwidth").as_bandwidth();
  g.pcie_generation = static_cast<int>(node.count("pcie_generation", 3));
  g.pcie_bandwidth = node.at("pcie_bandwidth").as_bandwidth();
  read_precision_support(node, g);
  const auto positive = [&](double v, const char* key) {
    if (v <= 0) node.at(key).fail("must be positive");
  };
  positive(g.fp16_flops, "fp16_dense");
  positive(g.bf16_flops, "bf16_dense");
  positive(g.fp32_flops, "fp32");
  positive(g.hbm_bytes, "hbm_capacity");
  positive(g.hbm_bandwidth, "hbm_bandwidth");
  positive(g.pcie_bandwidth, "pcie_bandwidth");
  node.finish();
  return g;
}

Json to_json(const GpuSpec& g) {
  Json out{{"name", g.name},
              {"source", g.source},
              {"fp16_flops_per_s", g.fp16_flops},
              {"bf16_flops_per_s", g.bf16_flops},
              {"fp8_flops_per_s", g.fp8_flops},
              {"int8_ops_per_s", g.int8_ops},
              {"fp32_flops_per_s", g.fp32_flops},
              {"hbm_bytes", g.hbm_bytes},
              {"hbm_bytes_per_s", g.hbm_bandwidth},
              {"sm_count", g.sm_count},
              {"l2_bytes", g.l2_bytes},
              {"nvlink_bytes_per_s", g.nvlink_bandwidth},
              {"pcie_generation", g.pcie_generation},
              {"pcie_bytes_per_s", g.pcie_bandwidth}};
  if (g.fp4_flops > 0) {
    out["fp4_flops_per_s"] = g.fp4_flops;
    Json formats = Json::array();
    for (const DType f : g.fp4_formats) formats.push_back(to_string(f));
    out["fp4_formats"] = formats;
  }
  if (g.mesh_link_bandwidth > 0) out["mesh_link_bytes_per_s"] = g.mesh_link_bandwidth;
  if (!g.achieved_source.empty()) {
    out["achieved"] = Json{{"bf16_matmul_flops_per_s", g.achieved_bf16_matmul},
                           {"fp8_matmul_flops_per_s", g.achieved_fp8_matmul},
                           {"hbm_bytes_per_s", g.achieved_hbm},
                           {"source", g.achieved_source}};
  }
  return out;
}

}  // namespace kvsim
