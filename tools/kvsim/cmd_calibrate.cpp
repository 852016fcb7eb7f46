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

struct NetworkOptions {
  std::string vidur_all_reduce;
  std::string vidur_send_recv;
  std::vector<std::string> measurements;
  std::string gpu;
  int gpus = 8;
  std::string name;
  std::string out;
};

// `kvsim calibrate-network`: collective protocols fitted to measured all-reduce times on one
// server of `gpus` GPUs behind an NVSwitch.
int calibrate_network(const NetworkOptions& o) {
  const GpuSpec gpu = gpu_or_fail(o.gpu);
  const Json spec{{"type", "nvswitch"}, {"gpus", o.gpus}};
  const net::Topology topology = net::topologies().create(
      ConfigNode(&spec, "--gpus", Json::json_pointer()), gpu);
  std::vector<calibration::CollectivePoint> points;     // all-reduce
  std::vector<calibration::CollectivePoint> messages;   // send/recv
  std::vector<std::string> sources;
  auto take = [&](const std::string& file, std::vector<calibration::CollectivePoint> from,
                  std::vector<calibration::CollectivePoint>& into) {
    for (const auto& p : from) {
      if (p.ranks > o.gpus) {
        throw InputError(file, "", fmt::format("a point has {} ranks; --gpus is {}", p.ranks,
                                               o.gpus));
      }
    }
    into.insert(into.end(), from.begin(), from.end());
    if (!from.empty()) sources.push_back(file);
  };
  if (!o.vidur_all_reduce.empty()) {
    take(o.vidur_all_reduce, calibration::import_vidur_collective(o.vidur_all_reduce), points);
  }
  if (!o.vidur_send_recv.empty()) {
    take(o.vidur_send_recv, calibration::import_vidur_collective(o.vidur_send_recv), messages);
  }
  for (const auto& f : o.measurements) {
    auto by_kind = calibration::import_kvsim_collectives(f);  // one read: pipes work
    take(f, std::move(by_kind["all_reduce"]), points);
    take(f, std::move(by_kind["send_recv"]), messages);
  }
  if (points.empty()) {
    throw InputError("kvsim calibrate-network", "",
                     "no all-reduce measurements: give --vidur-all-reduce or --measurements "
                     "(a kvsim-microbench file from a server with several GPUs)");
  }
  // Each fit has a latency and a bandwidth term: one message size cannot tell them apart.
  const auto need_two_sizes = [&](const std::vector<calibration::CollectivePoint>& ps,
                                  const char* what) {
    const bool one_size = std::all_of(ps.begin(), ps.end(), [&](const auto& p) {
      return p.bytes == ps.front().bytes;
    });
    if (!ps.empty() && one_size) {
      throw InputError(fmt::format("{}", fmt::join(sources, ", ")), "",
                       fmt::format("every {} point has the same message size ({} bytes); the fit "
                                   "needs at least two sizes",
                                   what, ps.front().bytes));
    }
  };
  need_two_sizes(points, "all-reduce");
  need_two_sizes(messages, "send/recv");
  calibration::CollectiveFit fit = calibration::fit_all_reduce(points, topology);
  std::optional<calibration::PointToPointFit> p2p;
  if (!messages.empty()) {
    p2p = calibration::fit_point_to_point(messages, topology);
    fit.config.point_to_point = p2p->protocol;
  }
  const std::string name = o.name.empty() ? "nccl-" + o.gpu : o.name;
  Json profile{
      {"name", name},
      {"source", fmt::format("Fitted by kvsim calibrate-network to {} all-reduce{} medians of {} "
                             "(one server, 2-{} GPUs), assuming the nvswitch preset on {}",
                             fit.points,
                             p2p ? fmt::format(" and {} send/recv", p2p->points) : "",
                             fmt::join(sources, " and "), o.gpus, o.gpu)},
      {"fit", fit.to_json()},
      {"collectives", fit.config.to_json()}};
  if (p2p) profile["fit_point_to_point"] = p2p->to_json();
  report::write_file(o.out, profile.dump(2) + "\n");
  fmt::print("kvsim calibrate-network: {} points -> {} protocol(s) (split at {:.0f} bytes); "
             "median error {:.1f}%, worst {:.1f}%; wrote {}\n",
             fit.points, fit.config.protocols.size(), fit.threshold_bytes,
             100 * fit.median_error, 100 * fit.worst_error, o.out);
  for (const auto& p : fit.config.protocols) {
    fmt::print("  {:<6} step latency {:.2f} us, efficiency {:.3f}\n", p.name,
               to_seconds(p.step_latency) * 1e6, p.efficiency);
  }
  if (p2p) {
    fmt::print("  p2p    {} send/recv points: fixed cost {:.2f} us, efficiency {:.3f}; median "
               "error {:.1f}%, worst {:.1f}%\n",
               p2p->points, to_seconds(p2p->protocol.step_latency) * 1e6,
               p2p->protocol.efficiency, 100 * p2p->median_error, 100 * p2p->worst_error);
  }
  return 0;
}

}  // namespace

void add_calibrate_network(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "calibrate-network",
      "Fit collective protocols (step latency, efficiency) to measured all-reduce times");
  auto o = std::make_shared<NetworkOptions>();
  cmd->add_option("--vidur-all-reduce", o->vidur_all_reduce,
                  "a Vidur network/<node>/all_reduce.csv (rows inside one server are used)");
  cmd->add_option("--vidur-send-recv", o->vidur_send_recv,
                  "a Vidur network/<node>/send_recv.csv: fits the point-to-point protocol");
  cmd->add_option("--measurements", o->measurements,
                  "kvsim measurement JSON with NCCL all-reduce (and send/recv) points (kvsim-microbench on a "
                  "multi-GPU server; repeatable)");
  cmd->add_option("--gpu", o->gpu, "catalog GPU of the server")->required();
  cmd->add_option("--gpus", o->gpus, "GPUs on the server's NVSwitch")->capture_default_str();
  cmd->add_option("--name", o->name, "profile name (default: nccl-GPU)");
  cmd->add_option("--out", o->out, "collective profile JSON to write")->required();
  cmd->callback([&selected, o] { selected = [o] { return calibrate_network(*o); }; });
}

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
