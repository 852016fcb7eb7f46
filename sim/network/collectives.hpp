#pragma once
// Collectives (all-gather, reduce-scatter, all-reduce, all-to-all, broadcast) built from flows
// over the real topology, so a slow link slows exactly the collectives that cross it.
//
// A collective is planned as steps; each step is a set of transfers that start together once the
// previous step has completed everywhere, after the step's share of the protocol's fixed cost
// (protocol.hpp: a cost per step, or a measured cost by GPU count). Each transfer moves
// bytes / efficiency on the wire, with the efficiency of its route's bottleneck link kind. Several protocols may be given (NCCL's LL, LL128 and
// Simple trade latency for bandwidth); like NCCL's tuner, each call uses the protocol whose
// closed-form time is smallest for its size.
//
// `bytes` is always the size of the full buffer S: the all-gather output, the reduce-scatter
// input, the all-reduce buffer, the all-to-all send buffer, the broadcast message.

#include <optional>
#include <string>
#include <vector>

#include "sim/network/flow_network.hpp"
#include "sim/network/protocol.hpp"

namespace kvsim::net {

enum class CollectiveKind { kAllGather, kReduceScatter, kAllReduce, kAllToAll, kBroadcast };
// kMesh: for a full mesh of point-to-point links (AMD's XGMI platforms), every piece on its own
// link at once: all-gather, reduce-scatter and all-to-all as direct, all-reduce as a direct
// reduce-scatter then a direct all-gather (two steps of S/p per pair), as RCCL spreads it over
// all the group's links.
enum class CollectiveAlgorithm { kRing, kTree, kDirect, kMesh };
std::string to_string(CollectiveKind kind);
std::string to_string(CollectiveAlgorithm algorithm);

/// Where a fitted profile's protocols were measured: one entry per topology, with the GPU
/// counts measured on it and the link kind that bottlenecked their routes.
struct MeasuredOn {
  struct Setup {
    std::string type;  // a topology preset: "nvswitch", "multi-node"
    int nodes = 1;     // servers
    std::vector<int> gpus;
    LinkKind link_kind = LinkKind::kNvlink;
  };
  std::string profile;  // the fitted profile's name
  std::string gpu;      // catalog GPU
  std::vector<Setup> topologies;
};

struct CollectiveConfig {
  CollectiveAlgorithm algorithm = CollectiveAlgorithm::kRing;
  std::vector<Protocol> protocols{Protocol{}};
  /// Point-to-point messages (NCCL send/recv: KV-Runahead's KV, pipeline stages' activations):
  /// a fixed cost per message and a fraction of the route's bottleneck. The default is the bare
  /// flow (no cost, full bandwidth).
  Protocol point_to_point{"p2p", Duration{0}, 1.0};
  /// Empty for hand-written protocols; a fitted profile says what it was measured on.
  std::optional<MeasuredOn> measured_on;
  /// Reads {"algorithm": "ring", "protocols": [{"name", "step_latency" | "latency_by_gpus",
  ///        "efficiency"}], "point_to_point": {"step_latency", "efficiency"},
  ///        "measured_on": {"profile", "gpu", "topologies": [{"type", "nodes", "gpus",
  ///        "link_kind"}]}} (protocol.hpp has the protocol's forms), or the name of a shipped
  ///        profile ("vidur-dgx-a100") whose "collectives" it reads.
  static CollectiveConfig from_config(const ConfigNode& node);
  Json to_json() const;
};

/// Load-time warnings for using `config` on `topology` (Scenario::warnings): a link kind that
/// bottlenecks routes here but was never measured by the profile, and GPU counts beyond a
/// latency table's measured range.
std::vector<std::string> collective_warnings(const CollectiveConfig& config,
                                             const Topology& topology);

/// Closed-form time of one point-to-point message alone on `route`: the protocol's fixed cost +
/// route latency + ceil_ns(bytes / (efficiency x bottleneck)), what a flow of bytes / efficiency
/// started after the fixed cost takes (efficiency of the bottleneck link's kind).
Duration message_time(const Route& route, double bytes, const Protocol& protocol);

struct Transfer {
  int from = 0;  // ranks (positions in the participant list)
  int to = 0;
  double bytes = 0;
};
using Step = std::vector<Transfer>;

/// The steps of a collective over `ranks` participants; throws std::invalid_argument for an
/// algorithm the collective does not have (tree exists for all-reduce and broadcast only).
std::vector<Step> plan_collective(CollectiveKind kind, CollectiveAlgorithm algorithm, int ranks,
                                  double bytes);

/// Time when no other traffic shares the routes: the protocol's fixed cost for this many steps
/// among gpus.size() participants (Protocol::fixed_cost) plus, for each step, the slowest
/// transfer's route latency + ceil_ns(bytes / (efficiency x bottleneck)), with the efficiency of
/// the route's bottleneck link kind.
Duration collective_time(const Topology& topology, const std::vector<int>& gpus,
                         CollectiveKind kind, CollectiveAlgorithm algorithm, double bytes,
                         const Protocol& protocol);
/// The protocol with the smallest closed-form time for this call.
const Protocol& choose_protocol(const Topology& topology, const std::vector<int>& gpus,
                                CollectiveKind kind, const CollectiveConfig& config, double bytes);

/// A collective's flows when it runs alone on the network, in times from its start: what a
/// client that prices it in closed form needs to put it back as flows partway through
/// (CollectiveEngine::resume; serving's one-event stages).
struct SoloCollective {
  struct Step {
    Duration requested{0};  // its flows start (after the step's share of the fixed cost)
    Duration activated{0};  // they become active (the route latency later)
    Duration finished{0};   // they finish
    double rate = 0;        // bytes/s, each flow's
  };
  std::vector<Step> steps;
  Duration time{0};  // when the collective is done
  /// Every step's flows become active together, keep one rate and finish together (a ring on
  /// a switch): each is then described by its step's times and rate alone.
  bool resumable = false;
};

/// Runs collectives as flows on a FlowNetwork.
class CollectiveEngine {
 public:
  CollectiveEngine(FlowNetwork& network, CollectiveConfig config)
      : network_(network), config_(std::move(config)) {}
  /// Starts a collective among `gpus` now; `done` runs when every rank has finished.
  void start(CollectiveKind kind, const std::vector<int>& gpus, double bytes,
             InlineCallback done);
  const CollectiveConfig& config() const { return config_; }
  /// The collective run on an otherwise idle copy of this network (its topology and options).
  SoloCollective solo(CollectiveKind kind, const std::vector<int>& gpus, double bytes) const;
  /// Continues, now, a collective that started at `started` and has run alone since, as
  /// `solo` (resumable) describes it: its current step's flows put in as they are now
  /// (FlowNetwork::adopt), or its next step's start awaited; then on as start() runs it. Events
  /// of the flow-by-flow run at exactly now are still to come.
  void resume(CollectiveKind kind, const std::vector<int>& gpus, double bytes,
              const SoloCollective& solo, SimTime started, InlineCallback done);

 private:
  struct Running {
    std::vector<Step> steps;
    std::vector<int> gpus;
    const Protocol* protocol = nullptr;
    Duration fixed{0};  // the protocol's fixed cost for the whole collective
    std::size_t step = 0;
    int pending = 0;
    InlineCallback done;
  };
  std::uint32_t prepare(CollectiveKind kind, const std::vector<int>& gpus, double bytes,
                        InlineCallback done);
  double wire_bytes(const Running& c, const Transfer& t) const;
  void begin_step(std::uint32_t id);
  void schedule_step(std::uint32_t id);
  void on_transfer(std::uint32_t id);

  FlowNetwork& network_;
  CollectiveConfig config_;
  std::vector<Running> running_;
  std::vector<std::uint32_t> free_;
};

}  // namespace kvsim::net
