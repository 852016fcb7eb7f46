#pragma once
// What every event-driven prefill run holds: the network run, the timeline, and each process's
// last activity. compute() places a kernel group on a process's stream and continues with
// `next` when it ends; first_token() records TTFT and stops the run.

#include "sim/prefill/network_run.hpp"
#include "sim/prefill/timeline.hpp"

namespace kvsim::prefill {

class ProcessRun {
 public:
  ProcessRun(const PrefillSetup& setup, int processes, bool record_trace)
      : net(setup, record_trace),
        timeline(processes, record_trace),
        last(static_cast<std::size_t>(processes), Timeline::kNone) {}

  template <class F>
  void compute(int p, Duration d, int after, const char* stage, int layer, F next) {
    const SimTime now = net.queue.now();
    last[p] = timeline.compute(p, now, now + d, after, stage, layer);
    net.queue.schedule_in(d, Phase::kCompletion, next);
  }

  /// The first token is out: its time is TTFT and process p's last activity ends the critical
  /// path. Stops the queue.
  void first_token(int p) {
    ttft_ = net.queue.now();
    final_activity_ = last[p];
    net.queue.stop();
  }

  /// Runs the scheduled work to the first token and collects the result.
  PrefillResult run() {
    net.run();
    PrefillResult out;
    timeline.finish(ttft_, final_activity_, out);
    net.finish(out);
    return out;
  }

  NetworkRun net;
  Timeline timeline;
  std::vector<int> last;  // per process

 private:
  SimTime ttft_{0};
  int final_activity_ = Timeline::kNone;
};

}  // namespace kvsim::prefill
