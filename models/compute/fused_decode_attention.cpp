#include "models/compute/fused_decode_attention.hpp"

#include <algorithm>
#include <stdexcept>

namespace kvsim {
namespace {

// Memo entries: a power of two. Serving's decode keys (batches up to a few hundred, key tiles
// up to the context over 64-256) mostly fit; a collision only prices the grid again.
constexpr std::size_t kMemoEntries = 1024;

std::size_t slot_of(const DecodeGridKey& k) {
  std::uint64_t h = static_cast<std::uint64_t>(k.batch) * 0x9E3779B97F4A7C15ULL;
  h ^= static_cast<std::uint64_t>(k.mean_tiles) * 0xC2B2AE3D27D4EB4FULL;
  h ^= static_cast<std::uint64_t>(k.kv_tiles) * 0x165667B19E3779F9ULL;
  h ^= static_cast<std::uint64_t>(k.q) * 0x27D4EB2F165667C5ULL;
  return static_cast<std::size_t>(h >> 32) & (kMemoEntries - 1);
}

}  // namespace

FusedDecodeAttention::FusedDecodeAttention(const AttentionGridFit& fit, const GpuSpec& gpu,
                                           const Operation& shape)
    : fit_(fit), gpu_(gpu), shape_(shape), peak_flops_(gpu.peak_flops(shape.dtype)),
      memo_(kMemoEntries) {
  if (fit.fit.coefficients.size() != kAttentionGridFeatures.size()) {
    throw std::logic_error("the attention fit does not have one coefficient per feature");
  }
}

// CalibratedModel::cost for the shape: max(fit, floor) x layer_share (see the header).
double FusedDecodeAttention::seconds(const Operation& op) {
  if (!same_shape(op)) {
    throw std::logic_error("FusedDecodeAttention asked to price an operation of another shape");
  }
  const Entry& e = entry(op);
  const double bytes = op.bytes();
  double fitted = at(e.chosen, bytes);
  if (e.split) fitted = std::min(fitted, at(e.unsplit, bytes));
  const double floor = std::max(op.flops / peak_flops_, bytes / gpu_.hbm_bandwidth);
  return std::max(fitted, floor) * op.layer_share;
}

// LinearFit::predict's sum up to the bytes feature (from 0, left to right), and the products
// after it.
FusedDecodeAttention::Terms FusedDecodeAttention::terms(const AttentionFeatures& x) const {
  const std::vector<double>& c = fit_.fit.coefficients;
  double t = 0;
  for (std::size_t i = 0; i < 4; ++i) t += c[i] * x[i];
  return {t, c[5] * x[5], c[6] * x[6]};
}

// AttentionGridFit::predict's `at`: the same additions in the same order, at least 0.
double FusedDecodeAttention::at(const Terms& t, double bytes) const {
  double sum = t.before_bytes;
  sum += fit_.fit.coefficients[4] * bytes;
  sum += t.split;
  sum += t.blocks;
  return std::max(0.0, sum);
}

const FusedDecodeAttention::Entry& FusedDecodeAttention::entry(const Operation& op) {
  const DecodeGridKey key = decode_grid_key(op.attention);
  Entry& e = memo_[slot_of(key)];
  if (e.key == key) return e;
  const AttentionFeatures chosen = attention_grid_features(op, fit_.sms, fit_.ctas_per_sm, 0);
  e.chosen = terms(chosen);
  e.split = chosen[5] != 0.0;  // AttentionGridFit::predict's test for a split launch
  if (e.split) e.unsplit = terms(attention_grid_features(op, fit_.sms, fit_.ctas_per_sm, 1));
  e.key = key;
  return e;
}

// What the memo's key leaves out must be the shape's.
bool FusedDecodeAttention::same_shape(const Operation& op) const {
  const AttentionShape& a = op.attention;
  const AttentionShape& s = shape_.attention;
  return op.kind == shape_.kind && op.op_class == shape_.op_class && op.dtype == shape_.dtype &&
         !a.prefill && a.heads == s.heads && a.kv_heads == s.kv_heads &&
         a.head_dim == s.head_dim && a.v_head_dim == s.v_head_dim && a.window == s.window;
}

}  // namespace kvsim
