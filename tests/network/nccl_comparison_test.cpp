// The nvswitch preset with the shipped NCCL profiles against published nccl-tests bus bandwidth
// (8 GPUs, one server) and, with the `external-data` label, against Vidur's measured all_reduce
// and send_recv medians in ../shared/data/vidur/network. Tables go to stdout; the committed copy
// is results/network/nccl_comparison.md.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "models/catalog/catalog.hpp"
#include "sim/network/collectives.hpp"
#include "sim/network/topologies.hpp"

namespace kvsim::net {
namespace {

struct Profile {
  Topology topology;
  CollectiveConfig collectives;
};

Profile load(const std::string& gpu, const std::string& profile) {
  const Json spec{{"type", "nvswitch"}, {"gpus", 8}};
  Profile p{topologies().create(ConfigNode(&spec, "test", Json::json_pointer()),
                                catalog::gpu(gpu)),
            {}};
  const auto doc = ConfigDocument::load_file(std::string(KVSIM_SOURCE_DIR) +
                                             "/calibration/profiles/" + profile + ".json");
  p.collectives = CollectiveConfig::from_config(doc.root().at("collectives"));
  return p;
}

// nccl-tests' bus bandwidth of all_reduce: S / t x 2 (p - 1) / p.
double bus_bandwidth(const Profile& p, int ranks, double bytes) {
  std::vector<int> gpus;
  for (int g = 0; g < ranks; ++g) gpus.push_back(g);
  const Protocol& proto = choose_protocol(p.topology, gpus, CollectiveKind::kAllReduce,
                                          p.collectives, bytes);
  const Duration t = collective_time(p.topology, gpus, CollectiveKind::kAllReduce,
                                     p.collectives.algorithm, bytes, proto);
  return bytes / to_seconds(t) * 2.0 * (ranks - 1) / ranks;
}

struct Point {
  double bytes;
  double busbw;  // GB/s
};

void compare(const std::string& gpu, const std::string& profile,
             const std::vector<Point>& published) {
  const Profile p = load(gpu, profile);
  std::string table = fmt::format("{} ({})\n| size | nccl-tests GB/s | kvsim GB/s | error |\n"
                                  "|---|---|---|---|\n", gpu, profile);
  for (const Point& pt : published) {
    const double predicted = bus_bandwidth(p, 8, pt.bytes) / 1e9;
    const double error = predicted / pt.busbw - 1;
    table += fmt::format("| {:.0f} MiB | {:.1f} | {:.1f} | {:+.1f}% |\n", pt.bytes / 1048576,
                         pt.busbw, predicted, 100 * error);
    EXPECT_LT(std::abs(error), 0.15) << gpu << " at " << pt.bytes << " B";
  }
  std::cout << table;
}

}  // namespace

TEST(NcclTests, A100AllReduceBusBandwidthWithin15Percent) {
  compare("a100-sxm4-80gb", "nccl-dgx-a100",
          {{1048576, 36.2}, {16777216, 109.2}, {67108864, 166.6}, {1073741824, 228.1}});
}

TEST(NcclTests, H100AllReduceBusBandwidthWithin15Percent) {
  compare("h100-sxm", "nccl-dgx-h100",
          {{1048576, 43.7}, {16777216, 234.5}, {67108864, 361.8}, {1073741824, 466.4}});
}

// Vidur's CSVs: one row per (size, workers); medians in milliseconds.
TEST(VidurNetwork, ModelAgainstMeasuredAllReduceAndSendRecv) {
  const std::string root = std::string(KVSIM_SOURCE_DIR) + "/../shared/data/vidur/network/";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "no ../shared/data (a user's clone)";
  for (const auto& [node, gpu, profile] :
       {std::tuple{"a100_dgx", "a100-sxm4-80gb", "nccl-dgx-a100"},
        std::tuple{"h100_dgx", "h100-sxm", "nccl-dgx-h100"}}) {
    const Profile p = load(gpu, profile);
    for (const std::string op : {"all_reduce", "send_recv"}) {
      std::ifstream in(root + node + "/" + op + ".csv");
      std::string line;
      std::getline(in, line);
      std::vector<double> errors;
      std::string table;
      while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::stringstream ss(line);
        for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
        // columns: index, min, max, mean, median, std, rank, num_workers, size, collective,
        // devices_per_node, max_devices_per_node
        const int workers = std::stoi(f[7]);
        const double bytes = std::stod(f[8]);
        if (std::stoi(f[10]) != workers || bytes < 1048576) continue;  // one server, >= 1 MiB
        std::vector<int> gpus;
        for (int g = 0; g < workers; ++g) gpus.push_back(g);
        Duration t;
        if (op == "send_recv") {
          const Route& r = p.topology.gpu_route(0, 1);
          t = r.latency + from_seconds_ceil(bytes / r.bottleneck);
        } else {
          const Protocol& proto = choose_protocol(p.topology, gpus, CollectiveKind::kAllReduce,
                                                  p.collectives, bytes);
          t = collective_time(p.topology, gpus, CollectiveKind::kAllReduce,
                              p.collectives.algorithm, bytes, proto);
        }
        const double measured = std::stod(f[4]) * 1e-3;
        errors.push_back(to_seconds(t) / measured - 1);
      }
      ASSERT_FALSE(errors.empty());
      std::vector<double> absolute;
      for (const double e : errors) absolute.push_back(std::abs(e));
      std::sort(absolute.begin(), absolute.end());
      std::cout << fmt::format("{} {}: {} points (one server, >= 1 MiB), median |error| "
                               "{:.1f}%, worst {:.1f}%\n",
                               node, op, errors.size(), 100 * absolute[absolute.size() / 2],
                               100 * absolute.back());
      // A regression guard at the level measured when this was written (12-27% median): the
      // ring model with the nccl-tests fit does not capture torch.distributed's overheads.
      EXPECT_LT(absolute[absolute.size() / 2], 0.30) << node << " " << op;
    }
  }
}

}  // namespace kvsim::net
