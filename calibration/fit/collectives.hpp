#pragma once
// Collective protocols fitted to measured all-reduce times (Vidur's network/<node>/all_reduce.csv,
// or any list of (ranks, bytes, seconds)), for the topology they were measured on.
//
// kvsim prices a ring all-reduce over p ranks as the protocol's fixed cost for p GPUs (a table
// by GPU count, protocol.hpp) + 2(p-1) steps of the route's latency + S/p / (efficiency x
// bottleneck). So, per protocol, the time is linear in one indicator per measured GPU count and
// the wire time 2(p-1) S / (p B), fitted by least squares on relative error. Like NCCL, kvsim
// uses the faster of two protocols per call: the fit tries every split of the measured sizes
// into a small-message and a large-message protocol, keeps the split whose faster-of-two model
// has the smallest relative error, then lets each point move to the protocol that serves it
// faster and refits until the groups settle. Efficiency is capped at 1 and fixed costs floored
// at 0. That fit is per link kind of the data it is given (one server: NVLink);
// fit_link_efficiency then adds the efficiency on another link kind (two servers: the network)
// from rows measured there, keeping the fixed costs.

#include <string>
#include <vector>

#include "models/compute/gpu_spec.hpp"
#include "sim/network/collectives.hpp"

namespace kvsim::calibration {

struct CollectivePoint {
  int ranks = 0;
  double bytes = 0;
  double seconds = 0;  // median
  int servers = 1;     // the ranks are spread evenly over this many servers
};

/// Rows of a Vidur network CSV taken inside one server (devices_per_node == num_workers).
std::vector<CollectivePoint> import_vidur_collective(const std::string& path);
/// Every row of a Vidur network CSV, with the servers it spans (num_workers / devices_per_node).
std::vector<CollectivePoint> import_vidur_collective_rows(const std::string& path);

/// What rows were measured on: the GPU and, between servers, each GPU's NIC bandwidth.
struct MeasuredCluster {
  GpuSpec gpu;
  std::string nic = "200Gb/s";  // per NIC, one per GPU (DGX-A100: InfiniBand HDR)
};

/// The topology a point was measured on: the nvswitch preset for one server of `gpus_per_server`
/// GPUs, the multi-node preset (one NIC per GPU) for several.
net::Topology measured_topology(const MeasuredCluster& cluster, int servers, int gpus_per_server);

struct CollectiveFit {
  net::CollectiveConfig config;
  double threshold_bytes = 0;  // the size split the fit started from (0: one protocol)
  std::size_t points = 0;
  double median_error = 0;     // |predicted / measured - 1|, over the points
  double worst_error = 0;
  Json to_json() const;
};

/// Ring all-reduce protocols for `topology` (ranks are GPUs 0..p-1): a fixed cost for each
/// measured GPU count, and an efficiency on the link kind of the route from GPU 0 to GPU 1.
CollectiveFit fit_all_reduce(const std::vector<CollectivePoint>& points,
                             const net::Topology& topology);

struct LinkFit {
  net::LinkKind kind = net::LinkKind::kNetwork;
  std::size_t points = 0;      // all the rows, each priced by the model
  std::size_t bandwidth_points = 0;  // those the efficiency was fitted on
  double median_error = 0;
  double worst_error = 0;
  Json to_json() const;
};

/// Adds each protocol's efficiency on the link kind that bottlenecks the points' routes (their
/// measured_topology() on `cluster`), keeping its fixed costs: least squares on relative error over
/// the points whose fixed cost and route latency are under half the measured time (the
/// efficiency is a bandwidth property; points dominated by fixed costs cannot tell it).
LinkFit fit_link_efficiency(const std::vector<CollectivePoint>& points, const MeasuredCluster& cluster,
                            net::CollectiveConfig& config);
/// The same for the point-to-point protocol from send/recv rows.
LinkFit fit_point_to_point_link(const std::vector<CollectivePoint>& points,
                                const MeasuredCluster& cluster, net::Protocol& protocol);

/// Signed relative errors (predicted / measured - 1) of all-reduce (or, with `point_to_point`,
/// send/recv between ranks 0 and 1) points, each priced on its measured_topology().
std::vector<double> collective_errors(const std::vector<CollectivePoint>& points,
                                      const MeasuredCluster& cluster,
                                      const net::CollectiveConfig& config,
                                      bool point_to_point);

struct PointToPointFit {
  net::Protocol protocol{"p2p"};  // CollectiveConfig::point_to_point
  std::size_t points = 0;
  double median_error = 0;  // of net::message_time against the measured medians
  double worst_error = 0;
  Json to_json() const;
};

/// The point-to-point protocol (fixed cost per message, efficiency) from send/recv medians
/// between GPUs 0 and 1 of `topology`: time = cost + route latency + bytes / (efficiency x
/// bottleneck), linear in (1, bytes / bottleneck), fitted on relative error; cost floored at 0
/// and efficiency capped at 1.
PointToPointFit fit_point_to_point(const std::vector<CollectivePoint>& points,
                                   const net::Topology& topology);

/// GPUs 0 .. ranks - 1: the participants of a measured collective on the fitted topology.
std::vector<int> first_gpus(int ranks);

}  // namespace kvsim::calibration
