// `kvsim calibrate`: a device profile from measurements (kvsim's CUDA microbenchmarks, or
// Vidur's published profiling CSVs), with a report of how well the fits and tables reproduce
// the measurements.

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "calibration/fit/calibration.hpp"
#include "calibration/fit/collectives.hpp"
#include "sim/network/topologies.hpp"
#include "models/catalog/catalog.hpp"
#include "sim/report/output.hpp"
#include "tools/kvsim/commands.hpp"

namespace kvsim::cli {
namespace {

struct CalibrateOptions {
  std::vector<std::string> measurements;
  std::vector<std::string> vidur_compute;
  std::string vidur_attention;
  std::string attention_model = "llama-2-7b";
  std::string gpu;
  std::string name;
  std::string source;
  std::string out;
  std::string report;
};

GpuSpec gpu_or_fail(const std::string& name) {
  try {
    return catalog::gpu(name);
  } catch (const std::out_of_range&) {
    throw InputError("--gpu", "", fmt::format("unknown GPU '{}'; {}", name,
                                              valid_values_hint(name, catalog::gpu_names())));
  }
}

int calibrate(const CalibrateOptions& o) {
  const GpuSpec gpu = gpu_or_fail(o.gpu);
  std::vector<calibration::Measurement> all;
  Json inputs = Json::array();
  for (const auto& f : o.measurements) {
    auto m = calibration::import_kvsim(f);
    all.insert(all.end(), m.begin(), m.end());
    inputs.push_back({{"kvsim", f}, {"points", m.size()}});
  }
  for (const auto& d : o.vidur_compute) {
    auto m = calibration::import_vidur_tree(d);
    all.insert(all.end(), m.begin(), m.end());
    inputs.push_back({{"vidur_compute", d}, {"points", m.size()}});
  }
  if (!o.vidur_attention.empty()) {
    const auto names = catalog::llm_names();
    if (std::find(names.begin(), names.end(), o.attention_model) == names.end()) {
      throw InputError("--attention-model", "",
                       fmt::format("unknown model '{}'; {}", o.attention_model,
                                   valid_values_hint(o.attention_model, names)));
    }
    auto m = calibration::import_vidur_attention(o.vidur_attention,
                                                 catalog::llm(o.attention_model));
    all.insert(all.end(), m.begin(), m.end());
    inputs.push_back({{"vidur_attention", o.vidur_attention}, {"points", m.size()}});
  }
  if (all.empty()) {
    throw InputError("kvsim calibrate", "",
                     "no measurements: give --measurements, --vidur-compute or --vidur-attention");
  }
  calibration::ProfileInfo info;
  info.name = o.name.empty() ? o.gpu : o.name;
  info.provenance = {{"source", o.source.empty() ? "measurements listed under inputs" : o.source},
                     {"inputs", inputs}};
  const DeviceProfile profile = calibration::fit_profile(all, gpu, info);
  report::write_file(o.out, profile.to_json().dump(1) + "\n");
  const std::string markdown = calibration::fit_report_markdown(profile);
  if (!o.report.empty()) report::write_output(o.report, {{"fit.md", markdown}});
  fmt::print("kvsim calibrate: {} measurements -> {} tables; wrote {}\n", all.size(),
             profile.tables.size(), o.out);
  for (const auto& [name, f] : profile.report["fits"].items()) {
    fmt::print("  {:<18} {:>5} points, leave-one-out error median {:.2f}%, worst {:.2f}%\n", name,
               f["points"].get<std::size_t>(), 100 * f["loo_median_relative_error"].get<double>(),
               100 * f["loo_worst_relative_error"].get<double>());
  }
  return 0;
}

}  // namespace

void add_calibrate(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "calibrate", "Fit a device profile (for the calibrated compute model) to measurements");
  auto o = std::make_shared<CalibrateOptions>();
  cmd->add_option("--gpu", o->gpu, "catalog GPU the measurements were taken on")->required();
  cmd->add_option("--out", o->out, "profile JSON to write")->required();
  cmd->add_option("--measurements", o->measurements, "kvsim measurement JSON (repeatable)")
      ->expected(1)
      ->take_all();
  cmd->add_option("--vidur-compute", o->vidur_compute,
                  "a Vidur compute/<gpu> directory: every mlp.csv below it (repeatable)")
      ->expected(1)
      ->take_all();
  cmd->add_option("--vidur-attention", o->vidur_attention, "a Vidur attention_points.csv");
  cmd->add_option("--attention-model", o->attention_model,
                  "the catalog model the attention points were measured for")
      ->capture_default_str();
  cmd->add_option("--name", o->name, "profile name (default: the GPU's)");
  cmd->add_option("--source", o->source, "provenance text stored in the profile");
  cmd->add_option("--report", o->report, "write fit.md (fit and table quality) here");
  cmd->callback([&selected, o] { selected = [o] { return calibrate(*o); }; });
}

}  // namespace kvsim::cli
