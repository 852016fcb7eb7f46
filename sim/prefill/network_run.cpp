#include "sim/prefill/network_run.hpp"

#include <fmt/format.h>

namespace kvsim::prefill {

NetworkRun::NetworkRun(const PrefillSetup& setup, bool record_trace)
    : network(queue, *setup.topology),
      collectives(network, setup.collectives),
      setup_(setup),
      background_(network, setup.background, RandomStreams(setup.seed)),
      record_trace_(record_trace) {
  if (record_trace_) network.set_observer(this);
}

void NetworkRun::run() {
  background_.start();
  queue.run();
}

void NetworkRun::on_flow(const net::FlowRecord& r) {
  const net::Topology& t = *setup_.topology;
  for (const int l : r.route->links) {
    const net::Link& link = t.link(l);
    link_slices_.push_back(TraceSlice{
        fmt::format("link {}->{}", t.node(link.from).name, t.node(link.to).name),
        fmt::format("{} -> {}: {:.0f} B", t.node(r.from).name, t.node(r.to).name, r.bytes),
        r.active, r.finished});
  }
}

void NetworkRun::finish(PrefillResult& out) const {
  out.link_bytes = network.link_bytes();
  out.events = queue.executed();
  out.trace.insert(out.trace.end(), link_slices_.begin(), link_slices_.end());
}

}  // namespace kvsim::prefill
