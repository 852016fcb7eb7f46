// The GEMM fit of a device profile: the coefficients by least squares (gemm_fit.hpp); the tile
// shape and split-K parameters chosen by fit quality with token-count bands weighted equally.
#include <array>

#include "calibration/fit/calibration.hpp"
#include "sim/core/statistics.hpp"

namespace kvsim::calibration {
namespace {

// Common CUTLASS/cuBLAS tiles.
const std::vector<std::pair<int, int>> kTiles{{64, 64},   {128, 64},  {64, 128},
                                               {128, 128}, {128, 256}, {256, 128}};
// Split-K candidates (max splits, least k per split); {1, 0} is no split.
const std::vector<std::pair<int, std::int64_t>> kSplits{
    {1, 0}, {4, 256}, {8, 256}, {16, 256}, {8, 512}, {16, 512}, {16, 128}, {32, 128}};

// The mean over token-count bands (1-16, 17-128, more) of the median relative error: Vidur
// measures a few hundred token counts per shape, nearly all prefill sizes, so a plain median
// would ignore decode-sized GEMMs, where tile and split choices matter most.
double band_balanced_error(const GemmFit& g, const std::vector<const Measurement*>& gemms) {
  std::array<std::vector<double>, 3> bands;
  for (const Measurement* m : gemms) {
    const std::int64_t tokens = m->op.gemm.m;
    const std::size_t band = tokens <= 16 ? 0 : tokens <= 128 ? 1 : 2;
    bands[band].push_back(std::abs(g.predict(m->op) / m->seconds - 1));
  }
  double sum = 0;
  int used = 0;
  for (const auto& errors : bands) {
    if (errors.empty()) continue;
    sum += median(errors);
    ++used;
  }
  return sum / used;
}

}  // namespace

GemmFit fit_gemm(const std::vector<const Measurement*>& gemms, const GpuSpec& gpu,
                 bool split_k) {
  std::optional<GemmFit> best;
  double best_error = 0;
  for (const auto& [tm, tn] : kTiles) {
    for (const auto& [max_split, min_slice] : kSplits) {
      if (!split_k && max_split > 1) continue;
      GemmFit g;
      g.tile_m = tm;
      g.tile_n = tn;
      g.sms = gpu.sm_count;
      g.max_split = max_split;
      g.min_k_slice = min_slice;
      std::vector<std::vector<double>> x;
      std::vector<double> y;
      for (const Measurement* m : gemms) {
        x.push_back(g.features(m->op));
        y.push_back(m->seconds);
      }
      g.fit = fit_relative(x, y);
      const double error = band_balanced_error(g, gemms);
      if (!best || error < best_error) {
        best = g;
        best_error = error;
      }
    }
  }
  return *best;
}

}  // namespace kvsim::calibration
