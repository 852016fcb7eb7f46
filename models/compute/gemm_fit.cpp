#include "models/compute/gemm_fit.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace kvsim {

const std::vector<std::string> kGemmFeatures{"launch_s", "s_per_quantised_flop", "s_per_byte"};

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

constexpr double kPartialBytes = 4;  // split-K partial sums are fp32
constexpr std::int64_t kMaxSms = 1 << 20;  // keeps W and the SM count in range

}  // namespace

std::int64_t GemmFit::split(std::int64_t m, std::int64_t n, std::int64_t k) const {
  if (max_split <= 1 || min_k_slice <= 0) return 1;
  const std::int64_t tiles = ceil_div(m, tile_m) * ceil_div(n, tile_n);
  const std::int64_t s = std::min({static_cast<std::int64_t>(max_split), sms / tiles,
                                   k / min_k_slice});
  return std::max<std::int64_t>(1, s);
}

double GemmFit::quantised_flops(std::int64_t m, std::int64_t n, std::int64_t k) const {
  const std::int64_t s = split(m, n, k);
  const std::int64_t tiles = ceil_div(m, tile_m) * ceil_div(n, tile_n) * s;
  const std::int64_t waves = ceil_div(tiles, sms);
  return static_cast<double>(waves) * sms * static_cast<double>(tile_m * tile_n) * 2.0 *
         static_cast<double>(ceil_div(k, s));
}

double GemmFit::reduction_bytes(std::int64_t m, std::int64_t n, std::int64_t k) const {
  const std::int64_t s = split(m, n, k);
  if (s == 1) return 0;
  return 2.0 * static_cast<double>(s) * static_cast<double>(m) * static_cast<double>(n) *
         kPartialBytes;
}

std::vector<double> GemmFit::features(const Operation& op) const {
  const GemmShape& g = op.gemm;
  if (g.m <= 0) return {1.0, op.flops, op.bytes()};
  return {1.0, quantised_flops(g.m, g.n, g.k), op.bytes() + reduction_bytes(g.m, g.n, g.k)};
}

double GemmFit::predict(const Operation& op, double work_scale) const {
  const std::vector<double> x = features(op);
  return std::max(0.0, fit.predict({x[0], x[1] * work_scale, x[2]}));
}

Json GemmFit::to_json() const {
  Json out{{"tile_m", tile_m}, {"tile_n", tile_n}, {"sms", sms}};
  if (max_split > 1) {
    out["split_k"] = {{"max_split", max_split}, {"min_k_slice", min_k_slice}};
  }
  out["fit"] = fit.to_json(kGemmFeatures);
  return out;
}

GemmFit GemmFit::from_json(const ConfigNode& g) {
  GemmFit f;
  f.tile_m = g.count("tile_m");
  f.tile_n = g.count("tile_n");
  const std::int64_t sms = g.count("sms");
  if (sms > kMaxSms) g.at("sms").fail(fmt::format("at most {} SMs", kMaxSms));
  f.sms = static_cast<int>(sms);
  if (const auto s = g.find("split_k")) {
    const std::int64_t max_split = s->count("max_split");
    if (max_split > f.sms) {
      s->at("max_split").fail("at most the SM count (each split runs on an SM of its own)");
    }
    f.max_split = static_cast<int>(max_split);
    f.min_k_slice = s->count("min_k_slice");
    s->finish();
  }
  f.fit = LinearFit::from_json(g.at("fit"), kGemmFeatures);
  g.finish();
  return f;
}

}  // namespace kvsim
