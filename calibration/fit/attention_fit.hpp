#pragma once
// Fitting fused attention over its kernel's launch grid (models/compute/attention_grid.hpp), and
// checking the fit on shapes it did not see.
//
// Called by fit_profile (the profile's attention fits) and by `kvsim calibrate
// --attention-validation` (results/calibration/attention_grid.md). Times in seconds.

#include <string>
#include <vector>

#include "calibration/fit/calibration.hpp"

namespace kvsim::calibration {

/// The grid fit of one phase's fused attention measurements (all prefill or all decode), with
/// the blocks resident per SM (1 or 2) chosen by leave-one-out error.
AttentionGridFit fit_attention_grid(const std::vector<const Measurement*>& measurements,
                                    const GpuSpec& gpu);

/// One check of the grid fit against the single-rate fit it replaces: relative errors of points
/// predicted by fits that did not see their group.
struct AttentionCheck {
  std::string phase;  // "prefill" or "decode"
  std::string name;
  std::size_t points = 0;
  double before_median = 0, before_worst = 0;  // single rate
  double after_median = 0, after_worst = 0;    // grid
};

/// The checks attention_validation_markdown reports, in its order.
std::vector<AttentionCheck> attention_validation(const std::vector<Measurement>& measurements,
                                                 const GpuSpec& gpu);

/// Markdown: the grid fit against the single-rate fit it replaces (prefill: launch + FLOPs +
/// bytes; decode: launch + bytes + requests), in sample, leaving whole chunk sizes, cached
/// contexts and batch sizes out, and on synthetic head-count splits of the decode points.
std::string attention_validation_markdown(const std::vector<Measurement>& measurements,
                                          const GpuSpec& gpu);

}  // namespace kvsim::calibration
