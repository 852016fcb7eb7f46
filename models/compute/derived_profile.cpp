#include "models/compute/derived_profile.hpp"


#include <fmt/format.h>

namespace kvsim {
namespace {

constexpr double kSameGenerationRatio = 1.25;  // per-SM fp16 rates within 25%: clocks differ

double per_sm_rate(const GpuSpec& g) { return g.fp16_flops / g.sm_count; }

// Seconds per unit of each fitted feature, measured GPU over target GPU.
struct Ratios {
  double compute;  // s per FLOP
  double bytes;    // s per byte
};

Ratios ratios(const GpuSpec& measured, const GpuSpec& target) {
  return {measured.fp16_flops / target.fp16_flops,
          measured.hbm_bandwidth / target.hbm_bandwidth};
}

// The measured GPU's fit for an elementwise kind (or the pooled one); null without either.
const LinearFit* elementwise_fit(const DeviceProfile& p, OpKind kind) {
  const auto it = p.elementwise_by_kind.find(kind);
  if (it != p.elementwise_by_kind.end()) return &it->second;
  return p.elementwise ? &*p.elementwise : nullptr;
}

// Each table point x fit_target / fit_measured at its shape (p: the target's profile, its fits
// already carried over).
void rescale_tables(DeviceProfile& p, const DeviceProfile& measured, const Ratios& r) {
  for (auto& [key, pts] : p.tables) {
    for (MeasuredPoint& pt : pts) {
      double before = 0;
      double after = 0;
      if (key.op_class == OpClass::kGemm && measured.gemm) {
        const Operation op =
            gemm(OpKind::kQkvProj, LayerStage::kPreAttention, pt.m, key.a, key.b, Precision{});
        before = measured.gemm->predict(op);
        after = p.gemm->predict(op);
      } else if (const LinearFit* fit = elementwise_fit(measured, key.kind)) {
        const double bytes = static_cast<double>(key.a) * static_cast<double>(pt.m);
        before = fit->predict({1.0, bytes});
        after = fit->predict({1.0, bytes * r.bytes});
      }
      if (before > 0 && after > 0) pt.seconds *= after / before;
    }
  }
}

}  // namespace

std::string why_not_derivable(const GpuSpec& profile_gpu, const GpuSpec& target) {
  const double ratio = per_sm_rate(target) / per_sm_rate(profile_gpu);
  if (ratio > kSameGenerationRatio || ratio < 1 / kSameGenerationRatio) {
    return fmt::format(
        "a profile carries over only to a GPU of the same SM generation (dense fp16 per SM "
        "within 25%): {} has {:.2f} TFLOP/s per SM, {} {:.2f}",
        profile_gpu.name, per_sm_rate(profile_gpu) * 1e-12, target.name,
        per_sm_rate(target) * 1e-12);
  }
  if ((profile_gpu.fp8_flops > 0) != (target.fp8_flops > 0)) {
    return fmt::format("a profile carries over only between GPUs that both have FP8 tensor "
                       "cores or both lack them ({} and {} differ)",
                       profile_gpu.name, target.name);
  }
  return "";
}

DeviceProfile derive_for_gpu(const DeviceProfile& profile, const GpuSpec& measured,
                             const GpuSpec& target) {
  const Ratios r = ratios(measured, target);
  DeviceProfile p = profile;
  p.gpu = target.name;
  if (p.gemm) {
    p.gemm->sms = target.sm_count;
    p.gemm->fit.coefficients[1] *= r.compute;
    p.gemm->fit.coefficients[2] *= r.bytes;
  }
  if (p.elementwise) p.elementwise->coefficients[1] *= r.bytes;
  for (auto& [kind, fit] : p.elementwise_by_kind) fit.coefficients[1] *= r.bytes;
  if (p.attention_prefill) {  // features 1, FLOPs, bytes
    p.attention_prefill->coefficients[1] *= r.compute;
    p.attention_prefill->coefficients[2] *= r.bytes;
  }
  if (p.attention_decode) p.attention_decode->coefficients[1] *= r.bytes;  // 1, bytes, requests
  rescale_tables(p, profile, r);
  return p;
}

std::string gpu_derivation_warning(const DeviceProfile& profile, const GpuSpec& measured,
                                   const GpuSpec& target) {
  return fmt::format(
      "{} has no profile of its own: profile '{}' (measured on {}) priced for it by rule "
      "(provenance 'derived'): FLOP terms x {:.0f}/{:.0f} TFLOP/s, byte terms x {:.2f}/{:.2f} "
      "TB/s, launch terms unchanged, GEMM waves over {} SMs; measured points scaled by the "
      "fitted ratio",
      target.name, profile.name, measured.name, measured.fp16_flops * 1e-12,
      target.fp16_flops * 1e-12, measured.hbm_bandwidth * 1e-12, target.hbm_bandwidth * 1e-12,
      target.sm_count);
}

bool fp8_derivable(const Operation& op, const GpuSpec& gpu) {
  return op.dtype == DType::kFp8 && gpu.fp8_flops > 0 && op.op_class != OpClass::kAttention;
}

Operation as_fp16(const Operation& op) {
  Operation o = op;
  const double activations = bytes_of(DType::kFp16) / bytes_of(op.dtype);
  const double weights = bytes_of(DType::kFp16) / bytes_of(op.weights);
  o.weight_bytes = op.weight_bytes * weights;
  o.bytes_read = o.weight_bytes + (op.bytes_read - op.weight_bytes) * activations;
  o.bytes_written = op.bytes_written * activations;
  o.dtype = DType::kFp16;
  o.weights = DType::kFp16;
  return o;
}

std::string fp8_derivation_warning(const DeviceProfile& profile, const GpuSpec& gpu) {
  return fmt::format(
      "profile '{}' measured 16-bit kernels only: fp8 GEMMs and elementwise kernels on {} are "
      "derived from them (provenance 'derived'): the fitted work term / {:.2f} (fp8 {:.0f} over "
      "fp16 {:.0f} TFLOP/s), bytes at fp8 sizes, the launch cost unchanged, scaling the 16-bit "
      "time; fp8 attention is priced by the roofline (provenance 'roofline')",
      profile.name, gpu.name, gpu.fp8_flops / gpu.fp16_flops, gpu.fp8_flops * 1e-12,
      gpu.fp16_flops * 1e-12);
}

}  // namespace kvsim
