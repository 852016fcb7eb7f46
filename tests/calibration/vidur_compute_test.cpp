// Against Vidur's measured kernels (label external-data): for every model and TP degree in
// ../shared/data/vidur/compute/a100, the calibrated model's per-layer GEMM time (QKV, output,
// MLP up and down projections) at each measured token count, against the measured medians.
// Two columns: the shipped profile as used (tables, made monotone), and its fitted model alone
// (what answers for shapes no table holds). Prints the table; with KVSIM_WRITE_RESULTS=1 also
// writes results/calibration/vidur_gemm_per_layer.md.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "calibration/fit/calibration.hpp"
#include "models/catalog/catalog.hpp"

namespace kvsim::calibration {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

}  // namespace

TEST(VidurCompute, PerLayerGemmTimeMatchesTheMeasurements) {
  const std::string root = std::string(KVSIM_SOURCE_DIR) + "/../shared/data/vidur/compute/a100";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "no ../shared/data (a user's clone)";
  const CalibratedModel model(catalog::gpu("a100-sxm4-80gb"), shipped_profile("a100-sxm4-80gb"),
                              {});
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.path().filename() == "mlp.csv") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  std::string table =
      "| model | TP | token counts | shipped: median | shipped: worst | fit alone: median | "
      "fit alone: worst |\n|---|---|---|---|---|---|---|\n";
  for (const auto& file : files) {
    // (tp, tokens) -> measured, shipped, fitted sums over the four GEMMs (repeats averaged).
    std::map<std::pair<std::string, std::int64_t>, std::array<double, 4>> sums;
    for (const Measurement& m : import_vidur_mlp(file)) {
      if (m.op.op_class != OpClass::kGemm) continue;
      const std::string tp = m.source.substr(m.source.rfind(" tp") + 3);
      auto& s = sums[{tp, m.op.rows}];
      s[0] += m.seconds;
      s[1] += model.cost(m.op).seconds;
      s[2] += *model.fitted_seconds(m.op);
      s[3] += 1;
    }
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> errors;
    for (const auto& [key, s] : sums) {
      // Each point was measured twice; the model answers once per copy.
      errors[key.first].first.push_back(std::abs(s[1] / s[0] - 1));
      errors[key.first].second.push_back(std::abs(s[2] / s[0] - 1));
    }
    const std::string name = std::filesystem::path(file).parent_path().filename();
    for (const auto& [tp, e] : errors) {
      const double shipped_median = median(e.first);
      const double shipped_worst = *std::max_element(e.first.begin(), e.first.end());
      table += fmt::format("| {} | {} | {} | {:.2f}% | {:.2f}% | {:.2f}% | {:.2f}% |\n", name, tp,
                           e.first.size(), 100 * shipped_median, 100 * shipped_worst,
                           100 * median(e.second),
                           100 * *std::max_element(e.second.begin(), e.second.end()));
      EXPECT_LE(shipped_median, 0.05) << name << " tp" << tp;
      EXPECT_LE(shipped_worst, 0.15) << name << " tp" << tp;
    }
  }
  fmt::print("{}", table);
  if (std::getenv("KVSIM_WRITE_RESULTS") != nullptr) {
    std::ofstream(std::string(KVSIM_SOURCE_DIR) + "/results/calibration/vidur_gemm_per_layer.md")
        << "# Per-layer GEMM time: calibrated A100 profile against Vidur's measurements\n\n"
           "Regenerate: `KVSIM_WRITE_RESULTS=1 build/tests/kvsim_tests "
           "--gtest_filter=VidurCompute.*`. Relative error of the sum of the four GEMMs of a "
           "layer at each measured token count.\n\n"
        << table;
  }
}

}  // namespace kvsim::calibration
