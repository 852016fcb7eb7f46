#include "sim/network/channel.hpp"

namespace kvsim::net {

void MessageChannel::send(double bytes, InlineCallback delivered) {
  queue_.push_back(Message{bytes, delivered});
  if (!busy_) start_next();
}

void MessageChannel::start_next() {
  busy_ = true;
  if (protocol_.step_latency == Duration{0}) {
    start_flow();
  } else {
    network_.queue().schedule_in(protocol_.step_latency, Phase::kDecision, [this] { start_flow(); });
  }
}

void MessageChannel::start_flow() {
  const double efficiency = protocol_.efficiency_between(network_.topology(), from_gpu_, to_gpu_);
  network_.start_between_gpus(from_gpu_, to_gpu_, queue_.front().bytes / efficiency,
                              [this] { on_arrival(); });
}

void MessageChannel::on_arrival() {
  const InlineCallback delivered = queue_.front().delivered;
  queue_.pop_front();
  busy_ = false;
  if (!queue_.empty()) start_next();
  delivered();
}

}  // namespace kvsim::net
