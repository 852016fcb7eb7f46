#include "models/compute/calibrated.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

#include <fmt/format.h>

#include "models/compute/derived_profile.hpp"
#include "models/compute/fused_decode_attention.hpp"
#include "models/compute/attention_derivation.hpp"

namespace kvsim {
namespace {

bool half(DType t) { return t == DType::kFp16 || t == DType::kBf16; }
// Profiles are measured in 16 bits, weights included.
bool calibrated_dtype(const Operation& op) {
  return half(op.dtype) && (op.weight_bytes == 0 || half(op.weights));
}
// 8-bit (or narrower) weights under 16-bit math: W8A16, as engines run fp8 on GPUs without FP8
// tensor cores.
bool weight_only_quantised(const Operation& op) {
  return half(op.dtype) && op.weight_bytes > 0 && !half(op.weights);
}
// The same operation with 16-bit weights: the kernel the profile measured.
Operation with_16_bit_weights(const Operation& op) {
  Operation as16 = op;
  as16.weight_bytes = op.weight_bytes * bytes_of(op.dtype) / bytes_of(op.weights);
  as16.weights = op.dtype;
  return as16;
}



// Linear interpolation over points sorted by m; outside, `fitted` scaled to the nearest end.
OpCost from_table(const std::vector<MeasuredPoint>& pts, std::int64_t m,
                  const std::function<double(std::int64_t)>& fitted) {
  const auto it = std::lower_bound(pts.begin(), pts.end(), m,
                                   [](const MeasuredPoint& p, std::int64_t v) { return p.m < v; });
  if (it != pts.end() && it->m == m) return {it->seconds, Provenance::kMeasured};
  if (it != pts.begin() && it != pts.end()) {
    const MeasuredPoint& lo = *(it - 1);
    const MeasuredPoint& hi = *it;
    const double t = static_cast<double>(m - lo.m) / static_cast<double>(hi.m - lo.m);
    return {lo.seconds + t * (hi.seconds - lo.seconds), Provenance::kInterpolated};
  }
  const MeasuredPoint& end = it == pts.end() ? pts.back() : pts.front();
  const double at_end = fitted(end.m);
  const double scale = at_end > 0 ? end.seconds / at_end : 1.0;
  return {fitted(m) * scale, Provenance::kExtrapolated};
}

}  // namespace

Operation at_rows(const Operation& op, std::int64_t m) {
  Operation o = op;
  const double scale = static_cast<double>(m) / static_cast<double>(op.rows);
  o.rows = m;
  if (o.gemm.m > 0) o.gemm.m = m;
  o.flops *= scale;
  if (op.weight_bytes < op.bytes_read) {
    o.bytes_read = op.weight_bytes + (op.bytes_read - op.weight_bytes) * scale;
  } else {
    o.bytes_read *= scale;  // a gather (embedding): the rows read grow with the tokens
    o.weight_bytes = o.bytes_read;
  }
  o.bytes_written *= scale;
  return o;
}

CalibratedModel::CalibratedModel(GpuSpec gpu, DeviceProfile profile,
                                 RooflineModel::Params fallback,
                                 std::optional<GpuSpec> measured_on)
    : gpu_(gpu),
      profile_(std::move(profile)),
      roofline_(std::move(gpu), fallback),
      measured_on_(std::move(measured_on)) {
  // No silent roofline for attention: a profile without attention fits takes them from a
  // measured GPU's (attention_derivation.hpp) and its answers say "derived".
  if (!profile_.attention_prefill && !profile_.attention_decode) {
    if (auto d = derive_attention_from_shipped(profile_, gpu_)) {
      attention_source_ = d->source;
      profile_.attention_prefill = d->prefill;
      profile_.attention_decode = d->decode;
    }
  }
  attention_range_ = AttentionRange::of(profile_.attention_range);
}

// A range that is not an object lists nothing measured (its answers say "extrapolated").
CalibratedModel::AttentionRange CalibratedModel::AttentionRange::of(const Json& r) {
  AttentionRange out;
  if (!r.is_object()) return out;
  for (const Json& s : r.value("shapes", Json::array())) {
    out.shapes.push_back({s.value("heads", 0), s.value("kv_heads", 0), s.value("head_dim", 0)});
  }
  for (const std::size_t side : {std::size_t{0}, std::size_t{1}}) {
    const char* name = side == 0 ? "prefill" : "decode";
    out.has_side[side] = r.contains(name);
    if (!out.has_side[side]) continue;
    out.max_q[side] = r[name].value("max_q_tokens", 0);
    out.max_kv[side] = r[name].value("max_kv_tokens", 0);
  }
  return out;
}

bool CalibratedModel::AttentionRange::inside(const AttentionShape& a) const {
  const bool shape_measured = std::any_of(shapes.begin(), shapes.end(), [&](const auto& s) {
    return s[0] == a.heads && s[1] == a.kv_heads && s[2] == a.head_dim;
  });
  const std::size_t side = a.prefill ? 0 : 1;
  return shape_measured && has_side[side] && a.q_tokens <= max_q[side] &&
         a.kv_tokens <= max_kv[side];
}

std::optional<double> CalibratedModel::fitted_seconds(const Operation& op) const {
  if (!calibrated_dtype(op)) return std::nullopt;
  switch (op.op_class) {
    case OpClass::kGemm:
      if (profile_.gemm) return profile_.gemm->predict(op);
      break;
    case OpClass::kElementwise:
      if (const LinearFit* fit = profile_.elementwise_fit(op.kind)) {
        return std::max(0.0, fit->predict({1.0, op.bytes()}));
      }
      break;
    case OpClass::kAttention: {
      const bool fused = op.kind == OpKind::kAttention;
      if (fused && op.attention.prefill && profile_.attention_prefill) {
        return profile_.attention_prefill->predict(op);
      }
      if (fused && !op.attention.prefill && profile_.attention_decode) {
        return profile_.attention_decode->predict(op);
      }
      // Eager attention's two products are batched GEMMs: the GEMM fit without tiling.
      if (!fused && profile_.gemm) {
        return std::max(0.0, profile_.gemm->fit.predict({1.0, op.flops, op.bytes()}));
      }
      break;
    }
  }
  return std::nullopt;
}

OpCost CalibratedModel::cost(const Operation& shared) const {
  // One call's cost, scaled by the op's share of the layers at the end (Gemma's local and
  // global attention, a MoE model's dense and expert layers): the roofline fallback inside must
  // not scale it first.
  Operation op = shared;
  op.layer_share = 1.0;
  OpCost c = op.groups > 1 ? grouped_cost(op) : unfloored_cost(op);
  if (measured_on_ && c.provenance != Provenance::kRoofline) c.provenance = Provenance::kDerived;
  // No answer may beat physics: the FLOPs at the dtype's peak, the bytes at HBM bandwidth.
  const double floor = std::max(op.flops / gpu_.peak_flops(op.dtype), op.bytes() / gpu_.hbm_bandwidth);
  c.seconds = std::max(c.seconds, floor) * shared.layer_share;
  return c;
}

OpCost CalibratedModel::unfloored_cost(const Operation& op) const {
  if (weight_only_quantised(op)) return weight_only_cost(op);
  if (fp8_derivable(op, gpu_)) return fp8_cost(op);
  const std::optional<double> fitted = fitted_seconds(op);
  if (!fitted) return roofline_.cost(op);
  if (const auto key = ShapeKey::of(op)) {
    if (const auto it = profile_.tables.find(*key); it != profile_.tables.end()) {
      return from_table(it->second, op.rows,
                        [&](std::int64_t m) { return *fitted_seconds(at_rows(op, m)); });
    }
  }
  if (op.op_class == OpClass::kAttention && op.kind == OpKind::kAttention) {
    if (!attention_source_.empty()) return {*fitted, Provenance::kDerived};
    const bool inside = attention_range_.inside(op.attention);
    return {*fitted, inside ? Provenance::kInterpolated : Provenance::kExtrapolated};
  }
  return {*fitted, Provenance::kExtrapolated};
}

// Exactly the operations cost() prices by the decode fit: fused decode attention (no weights,
// so not W8A16; 16-bit, so not fp8; no table key, rows being 0), in one group.
std::unique_ptr<OperationPricer> CalibratedModel::decode_attention_pricer(
    const Operation& shape) const {
  const bool by_decode_fit = shape.op_class == OpClass::kAttention &&
                             shape.kind == OpKind::kAttention && !shape.attention.prefill &&
                             shape.groups == 1 && shape.weight_bytes == 0 &&
                             calibrated_dtype(shape) && profile_.attention_decode.has_value();
  if (!by_decode_fit || ShapeKey::of(shape)) return nullptr;
  return std::make_unique<FusedDecodeAttention>(*profile_.attention_decode, gpu_, shape);
}

std::string CalibratedModel::describe() const {
  return fmt::format("calibrated profile {} ({} tables) on {}{}{}", profile_.name,
                     profile_.tables.size(), gpu_.name,
                     measured_on_ ? ", derived from " + measured_on_->name : "",
                     attention_source_.empty() ? ""
                                               : "; attention derived from " + attention_source_);
}

// The scenario's compute section as resolved (loadable again): derivation is not an option.
Json CalibratedModel::to_json() const {
  if (!written_as_.is_null()) return written_as_;
  return Json{{"type", "calibrated"}, {"profile", profile_.name}};
}



// W8A16: the measured 16-bit kernel less the time its extra weight bytes took at most (half
// the weight reads, at HBM peak), never below the 8-bit shape's roofline. Compute-bound prefill
// keeps (nearly) its 16-bit time, since the math is 16-bit; memory-bound decode gains what
// reading half the weights saves. The provenance is the 16-bit measurement's.
// A grouped GEMM (routed experts) as `groups` GEMMs of its mean rows (rounded up), each priced
// as the profile prices a GEMM: the fits know GEMMs of one weight, not grouped kernels.
OpCost CalibratedModel::grouped_cost(const Operation& op) const {
  const std::int64_t rows = (op.gemm.m + op.groups - 1) / op.groups;
  const Operation one = gemm(op.kind, op.stage, rows, op.gemm.n, op.gemm.k,
                             Precision{op.weights, op.dtype, op.dtype});
  OpCost c = unfloored_cost(one);
  c.seconds *= static_cast<double>(op.groups);
  return c;
}

OpCost CalibratedModel::weight_only_cost(const Operation& op) const {
  const Operation as16 = with_16_bit_weights(op);
  OpCost c = unfloored_cost(as16);
  const double saved = (as16.weight_bytes - op.weight_bytes) / gpu_.hbm_bandwidth;
  c.seconds = std::max(c.seconds - saved, roofline_.cost(op).seconds);
  return c;
}


// fp8 on FP8 tensor cores (derived_profile.hpp, rule 2): the 16-bit kernel's time x fit_8 /
// fit_16, fit_8 the same fit with the work term at the fp8 rate and the fp8 bytes.
OpCost CalibratedModel::fp8_cost(const Operation& op) const {
  const Operation as16 = as_fp16(op);
  OpCost c = unfloored_cost(as16);
  if (c.provenance == Provenance::kRoofline) return roofline_.cost(op);
  double fit16 = 0;
  double fit8 = 0;
  if (op.op_class == OpClass::kGemm && profile_.gemm) {
    fit16 = profile_.gemm->predict(as16);
    fit8 = profile_.gemm->predict(op, gpu_.fp16_flops / gpu_.fp8_flops);
  } else if (const LinearFit* fit = profile_.elementwise_fit(op.kind)) {
    fit16 = fit->predict({1.0, as16.bytes()});
    fit8 = fit->predict({1.0, op.bytes()});
  }
  if (fit16 > 0) c.seconds *= std::max(0.0, fit8) / fit16;
  c.provenance = Provenance::kDerived;
  return c;
}

std::string CalibratedModel::attention_warning() const {
  return fmt::format(
      "calibrated profile {} has no attention measurements: fused attention is derived from "
      "{} (provenance 'derived from {}'), its efficiency relative to GEMMs (prefill) and HBM "
      "(decode) carried over per SM; where the kernel is relatively slower on {} than on {} "
      "(FlashAttention-2 does not use the H100's wgmma instructions that its GEMMs use) it is "
      "priced too fast by that difference",
      profile_.name, attention_source_, attention_source_, gpu_.name, attention_source_);
}

std::vector<std::string> CalibratedModel::warnings(const Precision& precision) const {
  std::vector<std::string> out;
  if (measured_on_) out.push_back(gpu_derivation_warning(profile_, *measured_on_, gpu_));
  const auto fp8_math = [&](GemmGroup g) { return precision.of(g).activations == DType::kFp8; };
  const bool any_fp8 = precision.activations == DType::kFp8 || fp8_math(GemmGroup::kAttention) ||
                       fp8_math(GemmGroup::kMlp) || fp8_math(GemmGroup::kLmHead);
  if (any_fp8 && gpu_.fp8_flops > 0) {
    out.push_back(fp8_derivation_warning(profile_, gpu_));
  }
  if (!attention_source_.empty()) out.push_back(attention_warning());
  return out;
}

}  // namespace kvsim
