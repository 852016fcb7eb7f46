#include "models/compute/attention_derivation.hpp"

#include "models/catalog/catalog.hpp"

namespace kvsim {
namespace {

// Seconds per FLOP on one SM at the spec's dense fp16 peak (when a profile has no GEMM fit).
double peak_seconds_per_sm_flop(const GpuSpec& gpu) {
  return static_cast<double>(gpu.sm_count) / gpu.fp16_flops;
}

// Scales the work terms (per slot) by `work`, the bytes term by `bytes`; launch and split-combine
// terms stay. The grid is the target's.
AttentionGridFit rescaled(const AttentionGridFit& f, int sms, double work, double bytes) {
  AttentionGridFit out = f;
  out.sms = sms;
  out.fit.coefficients.at(1) *= work;  // waves x block work
  out.fit.coefficients.at(2) *= work;  // work / slots
  out.fit.coefficients.at(3) *= work;  // masked work / slots
  out.fit.coefficients.at(4) *= bytes;
  out.fit.coefficients.at(6) *= work;  // a block's fixed work (its queries and output)
  return out;
}

}  // namespace

DerivedAttention derive_attention(const DeviceProfile& source, const GpuSpec& source_gpu,
                                  const DeviceProfile& target, const GpuSpec& target_gpu) {
  DerivedAttention d;
  d.source = source.name;
  const bool fitted_rates = source.gemm.has_value() && target.gemm.has_value();
  d.prefill_scale =
      fitted_rates
          ? (target.gemm->fit.coefficients.at(1) * target_gpu.sm_count) /
                (source.gemm->fit.coefficients.at(1) * source_gpu.sm_count)
          : peak_seconds_per_sm_flop(target_gpu) / peak_seconds_per_sm_flop(source_gpu);
  d.decode_scale = (target_gpu.sm_count / target_gpu.hbm_bandwidth) /
                   (source_gpu.sm_count / source_gpu.hbm_bandwidth);
  const double bytes = source_gpu.hbm_bandwidth / target_gpu.hbm_bandwidth;
  if (source.attention_prefill) {
    d.prefill = rescaled(*source.attention_prefill, target_gpu.sm_count, d.prefill_scale, bytes);
  }
  if (source.attention_decode) {
    d.decode = rescaled(*source.attention_decode, target_gpu.sm_count, d.decode_scale, bytes);
  }
  return d;
}

std::optional<DerivedAttention> derive_attention_from_shipped(const DeviceProfile& target,
                                                              const GpuSpec& target_gpu) {
  for (const std::string& name : shipped_profiles()) {
    if (name == target.name) continue;
    const DeviceProfile source = shipped_profile(name);
    if (!source.attention_prefill || !source.attention_decode) continue;
    return derive_attention(source, catalog::gpu(source.gpu), target, target_gpu);
  }
  return std::nullopt;
}

}  // namespace kvsim
