#pragma once
// A GPU's spec sheet: peak rates, memory, interconnect. Data in models/catalog/gpus/*.json,
// each number with its source. Rates are dense (no sparsity).

#include <string>
#include <vector>

#include "models/llm/dtype.hpp"
#include "sim/core/config.hpp"

namespace kvsim {

struct GpuSpec {
  std::string name;
  std::string source;
  double fp16_flops = 0;   // FLOP/s, dense tensor-core fp16 (== bf16 on these parts)
  double bf16_flops = 0;   // FLOP/s
  double fp8_flops = 0;    // FLOP/s; 0 where the part has no fp8 tensor cores
  double int8_ops = 0;     // OP/s
  double fp32_flops = 0;   // FLOP/s, non-tensor fp32
  double hbm_bytes = 0;    // bytes
  double hbm_bandwidth = 0;     // bytes/s
  int sm_count = 0;
  double l2_bytes = 0;          // bytes
  double nvlink_bandwidth = 0;  // bytes/s per direction, all links together; 0 if none
  int pcie_generation = 0;
  double pcie_bandwidth = 0;    // bytes/s per direction (x16)
  // Blackwell and MI355X: dense 4-bit floating-point rate and the block formats the tensor cores
  // multiply natively (nvfp4, mxfp4); 0 and empty elsewhere.
  double fp4_flops = 0;         // FLOP/s
  std::vector<DType> fp4_formats;
  // A point-to-point scale-up mesh (AMD XGMI: a link to each peer): bytes/s per direction of one
  // link; 0 where GPUs reach each other through a switch.
  double mesh_link_bandwidth = 0;
  // Published achieved figures (best GEMM of a shape search, stream copy), 0 where none: the
  // roofline's default efficiencies are these over the peaks. `achieved_source` cites them.
  double achieved_bf16_matmul = 0;  // FLOP/s
  double achieved_fp8_matmul = 0;   // FLOP/s
  double achieved_hbm = 0;          // bytes/s
  std::string achieved_source;

  /// True when the tensor cores multiply `t` natively (16-bit always; fp8 with an fp8 rate; an
  /// fp4 format when listed).
  bool multiplies(DType t) const;

  /// Peak arithmetic rate for a data type. Without an fp8 rate fp8 math is priced at the fp16
  /// rate (weight-only W8A16, precision_on_gpu.hpp); without an int8 rate int8 likewise; fp4
  /// formats the GPU does not multiply, and int4 (a weight-only format), at the fp16 rate.
  double peak_flops(DType t) const;
};

GpuSpec parse_gpu_spec(const ConfigNode& node);
Json to_json(const GpuSpec& spec);

}  // namespace kvsim
