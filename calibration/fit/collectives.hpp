#pragma once
// Collective protocols fitted to measured all-reduce times (Vidur's network/<node>/all_reduce.csv,
// or any list of (ranks, bytes, seconds)), for the topology they were measured on.
//
// kvsim prices a ring all-reduce over p ranks as 2(p-1) steps, each costing the protocol's step
// latency + the route's latency + S/p / (efficiency x bottleneck). So, per protocol, the time is
// linear in two features, 2(p-1) and 2(p-1) S / (p B), and is fitted by least squares on
// relative error. Like NCCL, kvsim uses the faster of two protocols per call: the fit tries every
// split of the measured sizes into a small-message and a large-message protocol, keeps the split
// whose faster-of-two model has the smallest relative error, then lets each point move to the
// protocol that serves it faster and refits until the groups settle. Efficiency is capped at 1
// and step latency floored at 0.

#include <string>
#include <vector>

#include "sim/network/collectives.hpp"

namespace kvsim::calibration {

struct CollectivePoint {
  int ranks = 0;
  double bytes = 0;
  double seconds = 0;  // median
};

/// Rows of a Vidur network CSV taken inside one server (devices_per_node == num_workers).
std::vector<CollectivePoint> import_vidur_collective(const std::string& path);

struct CollectiveFit {
  net::CollectiveConfig config;
  double threshold_bytes = 0;  // the size split the fit started from (0: one protocol)
  std::size_t points = 0;
  double median_error = 0;     // |predicted / measured - 1|, over the points
  double worst_error = 0;
  Json to_json() const;
};

/// Ring all-reduce protocols for `topology` (ranks are GPUs 0..p-1).
CollectiveFit fit_all_reduce(const std::vector<CollectivePoint>& points,
                             const net::Topology& topology);

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

}  // namespace kvsim::calibration
