// The GEMM fit at small M (label external-data): Vidur's measured GEMMs (../shared/data/vidur,
// A100 and H100, every model at TP 1-8) against the fitted model alone (what prices shapes no
// table holds), fitted without split-K (before) and with it (after), by band of token count and
// of shard width. Two ways: in-sample (the fit of all models), and leave-one-model-out (each
// model's GEMMs priced by the fit of the others: an unseen architecture). Signed errors, both
// directions. Prints the table; KVSIM_WRITE_RESULTS=1 also writes
// results/calibration/gemm_small_m.md.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "calibration/fit/calibration.hpp"
#include "models/catalog/catalog.hpp"
#include "sim/core/statistics.hpp"

namespace kvsim::calibration {
namespace {

struct Band {
  std::string name;
  double median = 0;  // |relative error|
  double over = 0;    // largest over-prediction (> 0)
  double under = 0;   // largest under-prediction (< 0)
  std::size_t points = 0;
};

std::string tokens_band(std::int64_t m) {
  return m <= 16 ? "M 1-16" : m <= 64 ? "M 17-64" : m <= 128 ? "M 65-128" : "M > 128";
}

std::string tp_of(const Measurement& m) { return m.source.substr(m.source.rfind(" tp") + 3); }
std::string model_of(const Measurement& m) { return m.source.substr(6, m.source.find(' ', 6) - 6); }

// Band -> signed relative errors of `predict` over the GEMMs.
using Errors = std::map<std::string, std::vector<double>>;
void add_errors(const std::vector<const Measurement*>& gemms, const GemmFit& fit, Errors& out) {
  for (const Measurement* m : gemms) {
    const std::string tp = tp_of(*m);
    const std::string shard = tp == "4" || tp == "8" ? "TP 4-8" : "TP 1-2";
    out[tokens_band(m->op.gemm.m) + ", " + shard].push_back(fit.predict(m->op) / m->seconds - 1);
  }
}

Band summarise(const std::string& name, const std::vector<double>& e) {
  std::vector<double> a;
  for (const double v : e) a.push_back(std::abs(v));
  return {name, median(a), std::max(0.0, *std::max_element(e.begin(), e.end())),
          std::min(0.0, *std::min_element(e.begin(), e.end())), e.size()};
}

// In-sample and leave-one-model-out errors of the GEMM fit, with or without split-K.
std::pair<Errors, Errors> errors_of(const std::vector<const Measurement*>& gemms,
                                    const GpuSpec& gpu, bool split_k, std::string& chosen) {
  Errors in_sample;
  const GemmFit all = fit_gemm(gemms, gpu, split_k);
  chosen = fmt::format("tile {}x{}, split-K {}", all.tile_m, all.tile_n,
                       all.max_split > 1 ? fmt::format("up to {}, k/s >= {}", all.max_split,
                                                       all.min_k_slice)
                                         : std::string("off"));
  add_errors(gemms, all, in_sample);
  std::set<std::string> models;
  for (const Measurement* m : gemms) models.insert(model_of(*m));
  Errors held_out;
  for (const std::string& model : models) {
    std::vector<const Measurement*> train;
    std::vector<const Measurement*> test;
    for (const Measurement* m : gemms) (model_of(*m) == model ? test : train).push_back(m);
    add_errors(test, fit_gemm(train, gpu, split_k), held_out);
  }
  return {in_sample, held_out};
}

}  // namespace

TEST(VidurGemmSmallM, SplitKDoesNotWorsenTheFitAtSmallMOnNarrowShards) {
  const std::string root = std::string(KVSIM_SOURCE_DIR) + "/../shared/data/vidur/compute";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "no ../shared/data (a user's clone)";
  std::string doc;
  for (const auto& [dir, gpu_name] : {std::pair{"a100", "a100-sxm4-80gb"}, {"h100", "h100-sxm"}}) {
    const std::vector<Measurement> ms = import_vidur_tree(root + "/" + dir);
    std::vector<const Measurement*> gemms;
    for (const Measurement& m : ms) {
      if (m.op.op_class == OpClass::kGemm) gemms.push_back(&m);
    }
    ASSERT_FALSE(gemms.empty());
    const GpuSpec gpu = catalog::gpu(gpu_name);
    std::string before_fit;
    std::string after_fit;
    const auto [before, before_held] = errors_of(gemms, gpu, false, before_fit);
    const auto [after, after_held] = errors_of(gemms, gpu, true, after_fit);
    doc += fmt::format("\n## {} ({} GEMM measurements)\n\nBefore: {}. After: {}.\n\n", gpu_name,
                       gemms.size(), before_fit, after_fit);
    doc += "| band | points | before: median | before: worst over | before: worst under | "
           "after: median | after: worst over | after: worst under | after, model held out: "
           "median | over | under |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& [band, e] : before) {
      const Band b = summarise(band, e);
      const Band a = summarise(band, after.at(band));
      const Band h = summarise(band, after_held.at(band));
      doc += fmt::format(
          "| {} | {} | {:.1f}% | {:+.1f}% | {:+.1f}% | {:.1f}% | {:+.1f}% | {:+.1f}% | {:.1f}% | "
          "{:+.1f}% | {:+.1f}% |\n",
          band, b.points, 100 * b.median, 100 * b.over, 100 * b.under, 100 * a.median,
          100 * a.over, 100 * a.under, 100 * h.median, 100 * h.over, 100 * h.under);
      if (band.starts_with("M 1-16") && band.ends_with("TP 4-8")) {
        EXPECT_LE(a.median, b.median) << gpu_name << " " << band;
        EXPECT_LE(a.over, b.over) << gpu_name << " " << band;
      }
    }
    (void)before_held;
  }
  fmt::print("{}", doc);
  if (std::getenv("KVSIM_WRITE_RESULTS") != nullptr) {
    std::ofstream(std::string(KVSIM_SOURCE_DIR) + "/results/calibration/gemm_small_m.md")
        << "# The GEMM fit at small M: split-K\n\nRegenerate: `KVSIM_WRITE_RESULTS=1 "
           "build/tests/kvsim_tests --gtest_filter=VidurGemmSmallM.*`.\n\n"
           "Each of Vidur's GEMM measurements (one per shape, token count M and TP degree) "
           "against the fitted GEMM model alone (models/compute/gemm_fit.hpp), which prices "
           "every shape no measured table holds (the tables answer Vidur's own shapes to within "
           "interpolation). Error = predicted / measured - 1: median of its size, and the "
           "largest over- and under-prediction. Before: fitted without split-K (the shipped "
           "profiles before split-K: on this data the same tile and coefficients). After: with split-K, "
           "as `kvsim calibrate` now fits the shipped profiles. Model held out: each model's "
           "GEMMs priced by the fit of the other models, as an unseen architecture would be. "
           "TP 4-8 rows are the narrow shards (e.g. Llama-2-7B's TP8 QKV: n = 1536).\n"
        << doc;
  }
}

}  // namespace kvsim::calibration
