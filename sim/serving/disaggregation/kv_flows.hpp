#pragma once
// KV-cache transfers as flows on the serving run's flow network ("communication": "flows"):
// the bytes kv_transfer() prices in closed form, each prefill GPU's share / tp to each decode
// rank, sent as one max-min fair flow per (prefill GPU, decode rank) pair over the route the
// topology gives. Transfers so contend with each other, with the decode pool's tensor-parallel
// all-reduces (flows too in this mode) and with the scenario's background flows. Raw bytes at
// link bandwidth, as the closed form (no protocol efficiency), so a lone transfer through one
// bottleneck with even shares takes the closed form's time to the nanosecond's rounding.
//
// Whole cache: every flow starts when the transfer starts. Layer by layer (Splitwise): layer
// k's 1/L of each flow starts when the prefill has computed it, at the transfer's start +
// ceil(k x P / L) for a prefill of P (uniform layers, as layerwise_end assumes); a layer sent
// while earlier ones are still in flight shares their links. The transfer is done when the
// last flow of the last layer lands.
//
// Not on this network: the prefill instances' own collectives, which their strategy prices in
// its own run (sim/prefill, as `kvsim run`), so KV flows do not slow a prefill nor it them.
//
// Who calls it: the disaggregated run (disaggregated_run.cpp), once per request, when the
// request's decode reservation is made. Units: bytes, Duration; callbacks on the run's queue.

#include <cstdint>
#include <vector>

#include "sim/core/event_queue.hpp"
#include "sim/network/flow_network.hpp"

namespace kvsim::serving::disaggregation {

class KvFlows {
 public:
  explicit KvFlows(net::FlowNetwork& network) : network_(network) {}

  /// Starts now the transfer of `bytes` of KV held on `from` in proportion to `shares` (empty:
  /// even) to the ranks `to`, in `layers` equal parts sent as a prefill of `prefill` computes
  /// them (1 and 0: the whole cache now). `done` runs when the last byte has landed.
  void start(const std::vector<int>& from, const std::vector<std::int64_t>& shares,
             const std::vector<int>& to, double bytes, std::int64_t layers, Duration prefill,
             InlineCallback done);

 private:
  struct Transfer {
    std::vector<int> from, to;
    std::vector<double> per_rank;  // bytes each prefill GPU sends each decode rank, all layers
    std::int64_t layers = 1, sent = 0;
    Duration prefill{0};
    SimTime started{0};
    std::int64_t pending = 0;  // flows started and not yet landed
    InlineCallback done;
  };

  void send_layer(std::uint32_t id);
  void landed(std::uint32_t id);
  void finish(std::uint32_t id);

  net::FlowNetwork& network_;
  std::vector<Transfer> transfers_;
  std::vector<std::uint32_t> free_;
};

}  // namespace kvsim::serving::disaggregation
