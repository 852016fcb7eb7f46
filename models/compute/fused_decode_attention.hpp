#pragma once
// Fused decode attention priced as CalibratedModel::cost prices it, memoised for a caller that
// prices one layer's decode attention every iteration (the compiled cost, in serving's loop).
//
// CalibratedModel::cost prices a fused decode attention kernel in 16-bit math as
//   max(fit(op), floor(op)) x layer_share,
// fit being the profile's decode fit over the kernel's launch grid (AttentionGridFit::predict:
// seven features, the unsplit launch bounding a split one) and floor the FLOPs at peak or the
// bytes at HBM bandwidth. Batch after batch, one layer's kernel changes only in its batch, summed
// KV and longest request, and its grid only with decode_grid_key (attention_grid.hpp), which
// repeats where the summed KV does not. So the fit's terms that come from the grid are kept per
// key: the sum of the terms before the bytes feature, and the products after it. Each call adds
// the bytes term and those products in the fit's own order (LinearFit::predict sums left to
// right from 0): the same doubles through the same operations, equal to cost() bit for bit
// (tests/models/fast_paths_test.cpp).
//
// Built by CalibratedModel::decode_attention_pricer for operations of one shape (heads, KV
// heads, head widths, data type); an operation of another shape is a caller's bug (logic_error).
// The memo is a fixed table (no allocation after construction; a key that collides replaces the
// entry). Not thread-safe. The fit and GPU must outlive it. Units: seconds.

#include <array>
#include <cstdint>
#include <vector>

#include "models/compute/attention_grid.hpp"
#include "models/compute/calibrated.hpp"

namespace kvsim {

class FusedDecodeAttention final : public OperationPricer {
 public:
  FusedDecodeAttention(const AttentionGridFit& fit, const GpuSpec& gpu, const Operation& shape);
  double seconds(const Operation& op) override;

 private:
  // One launch's fit terms from its grid: the sum of the terms before bytes, and the split
  // and block terms after it.
  struct Terms {
    double before_bytes = 0;
    double split = 0;
    double blocks = 0;
  };
  struct Entry {
    DecodeGridKey key;
    Terms chosen;    // FlashAttention's split choice
    Terms unsplit;   // one split, when the choice splits
    bool split = false;
  };
  Terms terms(const AttentionFeatures& x) const;
  double at(const Terms& t, double bytes) const;  // the fit's prediction, at least 0
  const Entry& entry(const Operation& op);
  bool same_shape(const Operation& op) const;

  const AttentionGridFit& fit_;
  const GpuSpec& gpu_;
  Operation shape_;
  double peak_flops_;  // at the shape's data type
  std::vector<Entry> memo_;
};

}  // namespace kvsim
