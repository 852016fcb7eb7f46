#pragma once
// The calibrated compute model: per-operation costs from a device profile built by
// `kvsim calibrate` out of real GPU measurements.
//
// A profile holds
//   - tables: measured medians per operation shape (a GEMM's n and k; an elementwise kernel's
//     kind and bytes per token), over token counts m. Between measured m the time is linear
//     (interpolated); at a measured m it is the measurement; past the ends the fitted model is
//     scaled to meet the nearest measurement (extrapolated).
//   - fitted models, for shapes no table covers:
//       GEMM         t = c0 + c1 W + c2 (B + R), W the FLOPs the GPU spends with tile, wave
//                    and split-K quantisation, B the bytes moved, R split-K's partial sums
//                    (gemm_fit.hpp);
//       elementwise  t = c0 + c1 B;
//       attention    over the fused kernel's launch grid (attention_grid.hpp), prefill and decode
//                    each t = c0 + c1 waves x block work + c2 work / slots + c3 masked work /
//                    slots + c4 B + c5 split + c6 blocks / slots,
//                    so a TP shard's fewer heads (fewer blocks) are priced by its own grid;
//     a launch cost, a throughput regime and a memory regime, fitted by least squares.
// fp8 GEMMs and elementwise kernels on GPUs with FP8 tensor cores, and a profile carried over to
// another GPU of the same SM generation, are derived by the rules of derived_profile.hpp, with a
// warning. A profile without attention fits takes them from a shipped profile that has them,
// scaled by the documented rule in attention_derivation.hpp; such answers say "derived".
// Other data types and operations with no table or fit fall back to the roofline and say so.
// Every answer carries its provenance.

#include <array>
#include <map>
#include <optional>
#include <vector>

#include "models/compute/gemm_fit.hpp"
#include "models/compute/roofline.hpp"

namespace kvsim {

/// Feature names of the other fitted models, in the order predict() takes them.
extern const std::vector<std::string> kElementwiseFeatures;
extern const std::vector<std::string> kAttentionGridFeatures;  // prefill and decode

/// Fused attention as a linear model over its kernel's grid on `sms` SMs (one per phase).
struct AttentionGridFit {
  int sms = 0;
  int ctas_per_sm = 2;  // blocks resident per SM (chosen by fit quality)
  LinearFit fit;        // features: kAttentionGridFeatures

  double predict(const Operation& op) const;
  Json to_json() const;
  static AttentionGridFit from_json(const ConfigNode& node);
};

/// Table key: GEMMs by (n, k); elementwise kernels by kind and bytes per token.
struct ShapeKey {
  OpClass op_class = OpClass::kGemm;
  OpKind kind = OpKind::kQkvProj;  // elementwise only (GEMMs of any kind share a shape)
  std::int64_t a = 0;              // GEMM n; elementwise bytes per token
  std::int64_t b = 0;              // GEMM k; elementwise 0
  auto operator<=>(const ShapeKey&) const = default;
  static std::optional<ShapeKey> of(const Operation& op);  // none for attention
  std::string describe() const;
};

/// The same operation over m rows instead of op.rows (FLOPs and activation bytes scale).
Operation at_rows(const Operation& op, std::int64_t m);

struct PackedProfile;  // packed_profiles.hpp

struct MeasuredPoint {
  std::int64_t m = 0;  // tokens (GEMM rows)
  double seconds = 0;
};

struct DeviceProfile {
  std::string name;
  std::string gpu;  // catalog name of the device measured
  Json provenance;  // source, licence, coverage, gaps
  std::map<ShapeKey, std::vector<MeasuredPoint>> tables;  // points sorted by m
  std::optional<GemmFit> gemm;
  std::optional<LinearFit> elementwise;       // features: 1, B (all kinds pooled)
  std::map<OpKind, LinearFit> elementwise_by_kind;  // features: 1, B
  std::optional<AttentionGridFit> attention_prefill;
  std::optional<AttentionGridFit> attention_decode;
  Json attention_range;  // the measured attention shapes (heads, q and kv ranges)
  Json report;           // fit quality, per table and per model

  /// The elementwise fit for `kind`, else the pooled one; null without either.
  const LinearFit* elementwise_fit(OpKind kind) const;

  Json to_json() const;
  /// `packed`: `node` is that packed profile's skeleton, whose points it holds (packed_profiles.hpp).
  static DeviceProfile from_json(const ConfigNode& node, const PackedProfile* packed = nullptr);
};

class CalibratedModel final : public ComputeModel {
 public:
  /// `measured_on`: the GPU the profile was measured on, when it is not `gpu` and `profile`
  /// was carried over to `gpu` (derive_for_gpu): every answer from it is then "derived".
  CalibratedModel(GpuSpec gpu, DeviceProfile profile, RooflineModel::Params fallback,
                  std::optional<GpuSpec> measured_on = std::nullopt);
  OpCost cost(const Operation& op) const override;
  std::string describe() const override;
  /// The compute section, loadable again to this model: the profile's name unless
  /// set_written_as() gave what the scenario named (a file's path, a fallback).
  Json to_json() const override;
  void set_written_as(Json section) { written_as_ = std::move(section); }
  std::vector<std::string> warnings(const Precision& precision) const override;
  /// Fused decode attention in 16-bit math priced by the profile's decode fit: a memoising
  /// pricer (fused_decode_attention.hpp); null for any other operation.
  std::unique_ptr<OperationPricer> decode_attention_pricer(const Operation& shape) const override;
  const DeviceProfile& profile() const { return profile_; }
  /// The profile the attention fits were derived from; empty when they were measured here.
  const std::string& attention_source() const { return attention_source_; }
  /// The fitted model alone (no tables), for checking the fit against measurements.
  std::optional<double> fitted_seconds(const Operation& op) const;

 private:
  OpCost unfloored_cost(const Operation& op) const;
  OpCost weight_only_cost(const Operation& op) const;  // W8A16: see calibrated.cpp
  OpCost grouped_cost(const Operation& op) const;      // routed experts: see calibrated.cpp
  OpCost fp8_cost(const Operation& op) const;          // derived_profile.hpp, rule 2
  std::string attention_warning() const;  // attention derived from attention_source_
  // The profile's attention_range, resolved at construction: cost() runs in the serving loop's
  // inner loop, where looking it up through JSON cost more than the arithmetic it qualifies.
  struct AttentionRange {
    std::vector<std::array<std::int64_t, 3>> shapes;  // measured (heads, kv_heads, head_dim)
    std::array<bool, 2> has_side{};                   // [prefill, decode] listed
    std::array<std::int64_t, 2> max_q{};              // tokens; 0 when not listed
    std::array<std::int64_t, 2> max_kv{};
    static AttentionRange of(const Json& range);
    bool inside(const AttentionShape& a) const;
  };
  GpuSpec gpu_;
  DeviceProfile profile_;
  std::string attention_source_;
  RooflineModel roofline_;
  std::optional<GpuSpec> measured_on_;
  Json written_as_;  // null: {"type": "calibrated", "profile": <the profile's name>}
  AttentionRange attention_range_;
};

/// The profiles shipped in calibration/profiles/ (compiled in), by name.
std::vector<std::string> shipped_profiles();
DeviceProfile shipped_profile(const std::string& name);  // throws std::out_of_range

}  // namespace kvsim
