#pragma once
// A GPU's spec sheet: peak rates, memory, interconnect. Data in models/catalog/gpus/*.json,
// each number with its source. Rates are dense (no sparsity).

#include <string>

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

  /// Peak arithmetic rate for a data type. Without an fp8 rate fp8 math is priced at the fp16
  /// rate (weight-only W8A16, precision_on_gpu.hpp); without an int8 rate int8 likewise.
  double peak_flops(DType t) const;
};

GpuSpec parse_gpu_spec(const ConfigNode& node);
Json to_json(const GpuSpec& spec);

}  // namespace kvsim
