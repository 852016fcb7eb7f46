#pragma once
// Attention fits for a GPU whose profile has none, derived from a GPU that was measured, so that
// no GPU silently falls back to the roofline for its most shape-sensitive kernel.
//
// The rule: the measured kernel's efficiency relative to the GPU's GEMMs (prefill) or to its HBM
// (decode) carries over, per SM. The grid fit's work terms (waves x block work, plain and
// masked work per slot, blocks per slot) are a time per unit of work on one SM slot; on the target each is scaled by
//   prefill  (target GEMM seconds per quantised FLOP x target SMs) /
//            (source GEMM seconds per quantised FLOP x source SMs)   (per-SM GEMM speed ratio;
//            the spec's dense fp16 peak per SM when either profile has no GEMM fit),
//   decode   (target SMs / target HBM bandwidth) / (source SMs / source HBM bandwidth),
// and the grid is recomputed with the target's SMs (waves, splits), so at full occupancy a
// prefill costs t_source x (source GEMM rate / target GEMM rate) and a decode step
// t_source x (source HBM bandwidth / target HBM bandwidth). The bytes term scales by the HBM
// bandwidth ratio; launch and split-combine terms (host and driver bound) carry over unchanged.
// A kernel whose efficiency differs between the GPUs (FlashAttention-2 does not use the H100's
// wgmma instructions that its GEMMs use) is mispriced by that difference: the warning says so.
//
// Called by CalibratedModel's constructor when its profile has no attention fits.

#include <optional>
#include <string>

#include "models/compute/calibrated.hpp"

namespace kvsim {

struct DerivedAttention {
  std::string source;  // the shipped profile the fits came from
  std::optional<AttentionGridFit> prefill;
  std::optional<AttentionGridFit> decode;
  double prefill_scale = 1;  // the factors applied to the work terms, for the warning
  double decode_scale = 1;
};

/// The fits `source` (a profile with attention fits, measured on `source_gpu`) implies for
/// `target` on `target_gpu`.
DerivedAttention derive_attention(const DeviceProfile& source, const GpuSpec& source_gpu,
                                  const DeviceProfile& target, const GpuSpec& target_gpu);

/// The first shipped profile (in name order) with both attention fits, other than `target`'s,
/// derived for it; none when no shipped profile has attention fits.
std::optional<DerivedAttention> derive_attention_from_shipped(const DeviceProfile& target,
                                                              const GpuSpec& target_gpu);

}  // namespace kvsim
