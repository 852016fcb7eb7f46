// `kvsim calibrate-network`: collective protocols fitted to measured all-reduce and send/recv
// times (Vidur's network CSVs or kvsim-microbench files): fixed costs by GPU count and the
// NVLink efficiency from rows inside one server (the nvswitch preset), the network efficiency
// from rows across servers (the multi-node preset). With --evaluate, prices the rows with an
// existing profile instead and reports its errors (how results/network validates a fit on data
// it was not fitted to).

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "calibration/fit/calibration.hpp"
#include "calibration/fit/collectives.hpp"
#include "models/catalog/catalog.hpp"
#include "sim/report/output.hpp"
#include "sim/core/progress.hpp"
#include "tools/kvsim/commands.hpp"

namespace kvsim::cli {
namespace {

using calibration::CollectivePoint;

struct NetworkOptions {
  std::string vidur_all_reduce;
  std::string vidur_send_recv;
  std::vector<std::string> measurements;
  std::string gpu;
  int gpus = 8;
  std::string name;
  std::string out;
  bool one_server = false;
  std::vector<int> exclude_gpus;
  std::string evaluate;
  std::string nic = "200Gb/s";
};

struct Rows {
  std::vector<CollectivePoint> all_reduce;
  std::vector<CollectivePoint> send_recv;
  std::vector<std::string> sources;
};

GpuSpec catalog_gpu(const std::string& name) {
  try {
    return catalog::gpu(name);
  } catch (const std::out_of_range&) {
    throw InputError("--gpu", "", fmt::format("unknown GPU '{}'; {}", name,
                                              valid_values_hint(name, catalog::gpu_names())));
  }
}

// Keeps the rows the options select; refuses more GPUs per server than --gpus.
void take(const NetworkOptions& o, const std::string& file, std::vector<CollectivePoint> from,
          std::vector<CollectivePoint>& into, Rows& rows) {
  bool any = false;
  for (const auto& p : from) {
    if (p.ranks / p.servers > o.gpus) {
      throw InputError(file, "", fmt::format("a point has {} ranks per server; --gpus is {}",
                                             p.ranks / p.servers, o.gpus));
    }
    if (o.one_server && p.servers > 1) continue;
    const auto& ex = o.exclude_gpus;
    if (std::find(ex.begin(), ex.end(), p.ranks) != ex.end()) continue;
    into.push_back(p);
    any = true;
  }
  if (any) rows.sources.push_back(file);
}

Rows read_rows(const NetworkOptions& o) {
  Rows rows;
  if (!o.vidur_all_reduce.empty()) {
    take(o, o.vidur_all_reduce, calibration::import_vidur_collective_rows(o.vidur_all_reduce),
         rows.all_reduce, rows);
  }
  if (!o.vidur_send_recv.empty()) {
    take(o, o.vidur_send_recv, calibration::import_vidur_collective_rows(o.vidur_send_recv),
         rows.send_recv, rows);
  }
  for (const auto& f : o.measurements) {
    auto by_kind = calibration::import_kvsim_collectives(f);  // one read: pipes work
    take(o, f, std::move(by_kind["all_reduce"]), rows.all_reduce, rows);
    take(o, f, std::move(by_kind["send_recv"]), rows.send_recv, rows);
  }
  return rows;
}

std::vector<CollectivePoint> on_servers(const std::vector<CollectivePoint>& ps, bool one) {
  std::vector<CollectivePoint> out;
  for (const auto& p : ps) {
    if ((p.servers == 1) == one) out.push_back(p);
  }
  return out;
}

// Each fit has a latency and a bandwidth term: one message size cannot tell them apart.
void need_two_sizes(const std::vector<CollectivePoint>& ps, const char* what, const Rows& rows) {
  const bool one_size = std::all_of(ps.begin(), ps.end(), [&](const auto& p) {
    return p.bytes == ps.front().bytes;
  });
  if (!ps.empty() && one_size) {
    throw InputError(fmt::format("{}", fmt::join(rows.sources, ", ")), "",
                     fmt::format("every {} point has the same message size ({} bytes); the fit "
                                 "needs at least two sizes",
                                 what, ps.front().bytes));
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Errors by (servers, GPUs): median signed, median and worst |error|, and the signed range.
void print_errors(const std::vector<CollectivePoint>& ps, const std::vector<double>& e,
                  const std::string& what) {
  std::map<std::pair<int, int>, std::vector<double>> groups;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    groups[{ps[i].servers, ps[i].ranks}].push_back(e[i]);
  }
  groups[{0, 0}] = e;
  fmt::print("  {} | servers | GPUs | rows | median error | median |error| | worst |error| | "
             "range\n",
             what);
  for (const auto& [key, g] : groups) {
    std::vector<double> a;
    for (const double x : g) a.push_back(std::abs(x));
    const auto [lo, hi] = std::minmax_element(g.begin(), g.end());
    fmt::print("  {} | {} | {} | {} | {:+.1f}% | {:.1f}% | {:.1f}% | {:+.0f}% to {:+.0f}%\n", what,
               key.first == 0 ? "all" : std::to_string(key.first),
               key.second == 0 ? "all" : std::to_string(key.second), g.size(),
               100 * median(g), 100 * median(a), 100 * *std::max_element(a.begin(), a.end()),
               100 * *lo, 100 * *hi);
  }
}

// The profile's all-reduce of an 8-byte message inside one server (nccl-tests' latency).
void print_small_message(const calibration::MeasuredCluster& cluster, const net::CollectiveConfig& c) {
  std::vector<std::string> cells;
  for (const int p : {2, 4, 8}) {
    const CollectivePoint tiny{p, 8, 1};
    const double t = calibration::collective_errors({tiny}, cluster, c, false).front() + 1;
    cells.push_back(fmt::format("{} GPUs {:.1f} us", p, t * 1e6));
  }
  fmt::print("  8-byte all-reduce in one server: {}\n", fmt::join(cells, ", "));
}

void print_evaluation(const Rows& rows, const calibration::MeasuredCluster& cluster, const net::CollectiveConfig& c) {
  if (!rows.all_reduce.empty()) {
    print_errors(rows.all_reduce,
                 calibration::collective_errors(rows.all_reduce, cluster, c, false), "all_reduce");
  }
  if (!rows.send_recv.empty()) {
    print_errors(rows.send_recv, calibration::collective_errors(rows.send_recv, cluster, c, true),
                 "send_recv");
  }
  print_small_message(cluster, c);
}

int evaluate(const NetworkOptions& o, const Rows& rows, const calibration::MeasuredCluster& cluster) {
  const auto doc = ConfigDocument::load_file(o.evaluate);
  const ConfigNode root = doc.root();
  if (!root.json().contains("collectives") && !root.json().contains("protocols")) {
    throw InputError(o.evaluate, "", "not a collective profile: needs \"collectives\" (what "
                                     "calibrate-network writes) or a scenario's collectives "
                                     "object with \"protocols\"");
  }
  const net::CollectiveConfig c = net::CollectiveConfig::from_config(
      root.json().contains("collectives") ? root.at("collectives") : root);
  fmt::print("kvsim calibrate-network --evaluate {} on {} ({} all-reduce, {} send/recv rows):\n",
             o.evaluate, o.gpu, rows.all_reduce.size(), rows.send_recv.size());
  print_evaluation(rows, cluster, c);
  return 0;
}

std::vector<int> counts(const std::vector<CollectivePoint>& ps) {
  std::vector<int> out;
  for (const auto& p : ps) out.push_back(p.ranks);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// One measured_on entry per (collective, topology) the fit used.
void add_measured(net::MeasuredOn& m, const std::vector<CollectivePoint>& ps, bool one_server,
                  net::LinkKind kind) {
  if (ps.empty()) return;
  net::MeasuredOn::Setup s;
  s.type = one_server ? "nvswitch" : "multi-node";
  s.nodes = ps.front().servers;
  s.gpus = counts(ps);
  s.link_kind = kind;
  m.topologies.push_back(s);
}

struct Fitted {
  calibration::CollectiveFit all_reduce;
  std::optional<calibration::PointToPointFit> p2p;
  Json links = Json::array();
};

Fitted fit(const Rows& rows, const calibration::MeasuredCluster& cluster, const net::Topology& server) {
  const auto inside = on_servers(rows.all_reduce, true);
  const auto across = on_servers(rows.all_reduce, false);
  const auto p2p_inside = on_servers(rows.send_recv, true);
  const auto p2p_across = on_servers(rows.send_recv, false);
  if (inside.empty()) {
    throw InputError("kvsim calibrate-network", "",
                     "no all-reduce rows inside one server: the fixed costs are fitted there");
  }
  need_two_sizes(inside, "all-reduce", rows);
  Fitted f{calibration::fit_all_reduce(inside, server), std::nullopt, Json::array()};
  if (!across.empty()) {
    f.links.push_back(calibration::fit_link_efficiency(across, cluster, f.all_reduce.config).to_json());
  }
  if (!p2p_inside.empty()) {
    need_two_sizes(p2p_inside, "send/recv", rows);
    f.p2p = calibration::fit_point_to_point(p2p_inside, server);
    if (!p2p_across.empty()) {
      f.links.push_back(
          calibration::fit_point_to_point_link(p2p_across, cluster, f.p2p->protocol).to_json());
      f.links.back()["collective"] = "send_recv";
    }
    f.all_reduce.config.point_to_point = f.p2p->protocol;
  }
  return f;
}

net::MeasuredOn measured_on(const Rows& rows, const std::string& name, const std::string& gpu) {
  net::MeasuredOn m{name, gpu, {}};
  add_measured(m, on_servers(rows.all_reduce, true), true, net::LinkKind::kNvlink);
  add_measured(m, on_servers(rows.all_reduce, false), false, net::LinkKind::kNetwork);
  return m;
}

int calibrate_network(const NetworkOptions& o) {
  const calibration::MeasuredCluster cluster{catalog_gpu(o.gpu), o.nic};
  const Rows rows = read_rows(o);
  if (rows.all_reduce.empty()) {
    throw InputError("kvsim calibrate-network", "",
                     "no all-reduce measurements: give --vidur-all-reduce or --measurements "
                     "(a kvsim-microbench file from a server with several GPUs)");
  }
  if (!o.evaluate.empty()) return evaluate(o, rows, cluster);
  if (o.out.empty()) throw InputError("kvsim calibrate-network", "", "--out is required to fit");
  const net::Topology server = calibration::measured_topology(cluster, 1, o.gpus);
  Heartbeat beat("kvsim calibrate-network: fitting");  // on a terminal only
  Fitted f = fit(rows, cluster, server);
  beat.stop();
  const std::string name = o.name.empty() ? "nccl-" + o.gpu : o.name;
  f.all_reduce.config.measured_on = measured_on(rows, name, o.gpu);
  Json profile{
      {"name", name},
      {"source", fmt::format("Fitted by kvsim calibrate-network to {} all-reduce and {} "
                             "send/recv medians of {} on {}: fixed costs by GPU count and the "
                             "NVLink efficiency inside one server (nvswitch preset), the network "
                             "efficiency from rows across servers (multi-node preset, one {} NIC "
                             "per GPU); collectives/measured_on lists what was measured",
                             rows.all_reduce.size(), rows.send_recv.size(),
                             fmt::join(rows.sources, " and "), o.gpu, o.nic)},
      {"fit", f.all_reduce.to_json()},
      {"fit_links", f.links},
      {"collectives", f.all_reduce.config.to_json()}};
  if (f.p2p) profile["fit_point_to_point"] = f.p2p->to_json();
  report::write_file(o.out, profile.dump(2) + "\n");
  fmt::print("kvsim calibrate-network: {} protocol(s) (split at {:.0f} bytes); wrote {}\n",
             f.all_reduce.config.protocols.size(), f.all_reduce.threshold_bytes, o.out);
  for (const auto& p : f.all_reduce.config.protocols) {
    fmt::print("  {:<6} {}\n", p.name, p.to_json().dump());
  }
  print_evaluation(rows, cluster, f.all_reduce.config);
  return 0;
}

}  // namespace

void add_calibrate_network(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand(
      "calibrate-network",
      "Fit collective protocols (fixed cost by GPU count, efficiency per link kind) to measured "
      "all-reduce and send/recv times, or --evaluate a profile against them");
  auto o = std::make_shared<NetworkOptions>();
  cmd->add_option("--vidur-all-reduce", o->vidur_all_reduce,
                  "a Vidur network/<node>/all_reduce.csv (rows across servers fit the network)");
  cmd->add_option("--vidur-send-recv", o->vidur_send_recv,
                  "a Vidur network/<node>/send_recv.csv: fits the point-to-point protocol");
  cmd->add_option("--measurements", o->measurements,
                  "kvsim measurement JSON with NCCL all-reduce (and send/recv) points "
                  "(kvsim-microbench on a multi-GPU server; repeatable)");
  cmd->add_option("--gpu", o->gpu, "catalog GPU of the server")->required();
  cmd->add_option("--gpus", o->gpus, "GPUs on each server's NVSwitch")->capture_default_str();
  cmd->add_option("--name", o->name, "profile name (default: nccl-GPU)");
  cmd->add_option("--out", o->out, "collective profile JSON to write (required to fit)");
  cmd->add_option("--nic", o->nic, "each GPU's NIC bandwidth between servers")
      ->capture_default_str();
  cmd->add_flag("--one-server", o->one_server, "use only the rows measured inside one server");
  cmd->add_option("--exclude-gpus", o->exclude_gpus, "leave out rows with this many GPUs "
                                                     "(repeatable: hold-out validation)");
  cmd->add_option("--evaluate", o->evaluate,
                  "a collective profile (or a scenario's collectives object) to price the rows "
                  "with, instead of fitting");
  cmd->callback([&selected, o] { selected = [o] { return calibrate_network(*o); }; });
}

}  // namespace kvsim::cli
