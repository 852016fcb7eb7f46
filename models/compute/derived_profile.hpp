#pragma once
// Derived costs: what a calibrated profile did not measure, priced from what it did by
// documented rules, never a silent roofline. Two cases, each announced by a load-time warning
// (Scenario::warnings) and answered with provenance "derived":
//
// 1. Another GPU. A profile measured on GPU S may price GPU T of the same SM generation (dense
//    fp16 rate per SM within 25% of S's, the same FP8 support): e.g. h100-sxm's profile on the
//    h200, which has the H100's SMs and more HBM bandwidth. Every fitted term is carried over
//    by what it measures: FLOP terms (GEMM work, attention FLOPs) x peak_S / peak_T, byte terms
//    x bandwidth_S / bandwidth_T, launch and per-request terms unchanged; GEMM tiles wave over
//    T's SMs. A measured point becomes measured_S x fit_T / fit_S at its shape, so the
//    measurement's accuracy carries over and only the ratio is modelled.
// 2. fp8 math on a GPU with FP8 tensor cores, a profile measured in 16 bits: a GEMM or
//    elementwise kernel costs its 16-bit counterpart's time (table or fit) x fit_8 / fit_16,
//    where fit_8 evaluates the same fit with the work term / (fp8 peak / fp16 peak) and the
//    kernel's fp8 bytes: the compute-bound part runs at the fp8 rate, the memory-bound part moves
//    the fp8 bytes, the launch cost stays. Always between the 16-bit time / the peak ratio and
//    the 16-bit time.
// Called when a scenario builds its calibrated compute model (builtin.cpp) and by
// CalibratedModel for each fp8 operation. Seconds, FLOP/s, bytes/s.

#include <string>

#include "models/compute/calibrated.hpp"

namespace kvsim {

/// Why `profile_gpu`'s profile cannot price `target` ("" when it can, by rule 1).
std::string why_not_derivable(const GpuSpec& profile_gpu, const GpuSpec& target);

/// `profile`, measured on `measured`, carried over to `target` by rule 1.
DeviceProfile derive_for_gpu(const DeviceProfile& profile, const GpuSpec& measured,
                             const GpuSpec& target);

/// The warning rule 1 gives a scenario.
std::string gpu_derivation_warning(const DeviceProfile& profile, const GpuSpec& measured,
                                   const GpuSpec& target);

/// True when rule 2 prices `op` on `gpu`: fp8 math, FP8 tensor cores, a GEMM or elementwise.
bool fp8_derivable(const Operation& op, const GpuSpec& gpu);

/// The same operation in fp16 (weights and activations): the kernel a 16-bit profile measured.
Operation as_fp16(const Operation& op);

/// The warning rule 2 gives a scenario whose math is fp8 on `gpu`.
std::string fp8_derivation_warning(const DeviceProfile& profile, const GpuSpec& gpu);

}  // namespace kvsim
