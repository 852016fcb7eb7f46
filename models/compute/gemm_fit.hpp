#pragma once
// The fitted GEMM model of a calibrated profile, for GEMM shapes no measured table covers:
//
//   t = c0 + c1 W + c2 (B + R)
//
// W is the work the GPU spends, with tile and wave quantisation: the m x n output is cut into
// tile_m x tile_n tiles; when the tiles fill at most half the SMs, the kernel splits k s ways
// (split-K, as cuBLAS does for skinny GEMMs) so more SMs share the work, s the largest with
// tiles x s <= SMs, k / s >= min_k_slice and s <= max_split. Then
//   W = ceil(tiles x s / SMs) x SMs x tile_m x tile_n x 2 ceil(k / s)   FLOPs,
// the critical path (waves of tiles, each a k / s slice) times the GPU's width. B is the bytes
// the GEMM moves; R the split's reduction, s fp32 partial m x n outputs written and read back
// (0 when s = 1). All three terms are linear in the coefficients, so the fit stays a least-squares
// problem (calibration/fit). Called by CalibratedModel for every GEMM off its tables, and by
// `kvsim calibrate` while it chooses the tile and split parameters. Seconds, FLOPs, bytes.

#include <cstdint>
#include <string>
#include <vector>

#include "models/compute/linear_fit.hpp"
#include "models/llm/operations.hpp"

namespace kvsim {

/// Feature names of the GEMM fit, in the order GemmFit::features gives them.
extern const std::vector<std::string> kGemmFeatures;

struct GemmFit {
  std::int64_t tile_m = 128;
  std::int64_t tile_n = 128;
  int sms = 0;
  int max_split = 1;              // 1: no split-K (profiles fitted before split-K)
  std::int64_t min_k_slice = 0;   // elements of k each split keeps at least
  LinearFit fit;  // features: 1, W, B + R

  /// How many ways k is split for an m x n x k GEMM (1: not split).
  std::int64_t split(std::int64_t m, std::int64_t n, std::int64_t k) const;
  /// W: FLOPs spent with tile, wave and split quantisation.
  double quantised_flops(std::int64_t m, std::int64_t n, std::int64_t k) const;
  /// R: bytes of the split's fp32 partial outputs, written once and read once.
  double reduction_bytes(std::int64_t m, std::int64_t n, std::int64_t k) const;
  /// The fit's features for `op`: {1, W, B + R}. Without a GEMM shape (eager attention's
  /// batched products), W is the operation's FLOPs.
  std::vector<double> features(const Operation& op) const;
  /// The fitted seconds, never negative. `work_scale` multiplies the W term: a GPU or data type
  /// whose tensor cores run `1 / work_scale` times as fast (derived_profile.hpp).
  double predict(const Operation& op, double work_scale = 1.0) const;

  Json to_json() const;
  static GemmFit from_json(const ConfigNode& node);
};

}  // namespace kvsim
