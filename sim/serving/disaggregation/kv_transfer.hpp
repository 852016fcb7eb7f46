#pragma once
// The KV-cache transfer from a prefill instance to a decode instance, in closed form over the
// topology's routes (NVLink in a node, NICs between nodes).
//
// The prompt's K and V, kv_bytes_per_token(kv dtype) x tokens bytes, lie on the prefill GPUs in
// their shares of the tokens (the strategy's partition; an even split where it has none, as
// under tensor parallelism, where each GPU holds its share of the heads instead); each decode
// rank needs its 1/tp of the heads of every token. So every prefill GPU sends share / tp to
// every decode rank, all at once. Closed form: the busiest link's bytes over its bandwidth
// (rounded up to the nanosecond), plus the longest route's latency. That is exactly what flows
// take when one link is every flow's bottleneck (a lone flow; several senders into one NIC or
// one receiver's NVLink); where flows are limited by different links it is the makespan's
// lower bound.
//
// Layer by layer (Splitwise): each layer's 1/L of the bytes leaves when the prefill has
// computed that layer, a two-stage pipeline of L equal items of prefill P / L and
// serialisation S / L: the last byte lands at max(P, S) + min(P, S) / L + latency after the
// prefill starts (uniform layers assumed: the embedding and LM head count as layer time).
//
// Who calls it: the disaggregated run, per request. Units: bytes, Duration.

#include <cstdint>
#include <vector>

#include "sim/core/time.hpp"
#include "sim/network/topology.hpp"

namespace kvsim::serving::disaggregation {

struct KvTransfer {
  double bytes = 0;           // the whole cache
  Duration latency{0};        // the longest route's
  Duration serialisation{0};  // the busiest link's bytes over its bandwidth
  Duration total() const { return latency + serialisation; }
};

/// `bytes` of KV held on `from` in proportion to `shares` (empty: even), to the ranks `to`.
KvTransfer kv_transfer(const net::Topology& topology, const std::vector<int>& from,
                       const std::vector<std::int64_t>& shares, const std::vector<int>& to,
                       double bytes);

/// From the prefill's start to the last KV byte at the decode instance, layer by layer over
/// `layers` layers with a prefill of `prefill`.
Duration layerwise_end(Duration prefill, const KvTransfer& t, std::int64_t layers);

}  // namespace kvsim::serving::disaggregation
