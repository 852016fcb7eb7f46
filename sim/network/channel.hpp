#pragma once
// Point-to-point messages between two GPUs, delivered in order.
//
// A channel models one NCCL send/recv stream: messages queue behind each other (the next starts
// when the previous has arrived), each moving as a flow on the shared network. KV-Runahead's
// per-layer KV messages use one channel per neighbour pair, so a process that runs ahead queues
// its messages on the link in layer order. Each message pays the point-to-point protocol's fixed
// cost before its flow starts and moves bytes / efficiency (of the route's bottleneck link kind).

#include <deque>

#include "sim/network/collectives.hpp"

namespace kvsim::net {

class MessageChannel {
 public:
  MessageChannel(FlowNetwork& network, int from_gpu, int to_gpu, Protocol protocol = {})
      : network_(network), from_gpu_(from_gpu), to_gpu_(to_gpu), protocol_(std::move(protocol)) {}
  MessageChannel(const MessageChannel&) = delete;
  MessageChannel& operator=(const MessageChannel&) = delete;

  /// Queues a message; `delivered` runs when its last byte has arrived.
  void send(double bytes, InlineCallback delivered);
  std::size_t queued() const { return queue_.size(); }
  int from_gpu() const { return from_gpu_; }
  int to_gpu() const { return to_gpu_; }

 private:
  struct Message {
    double bytes;
    InlineCallback delivered;
  };
  void start_next();
  void start_flow();
  void on_arrival();

  FlowNetwork& network_;
  int from_gpu_;
  int to_gpu_;
  Protocol protocol_;
  std::deque<Message> queue_;
  bool busy_ = false;
};

}  // namespace kvsim::net
