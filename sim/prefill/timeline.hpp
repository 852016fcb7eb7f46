#pragma once
// Bookkeeping shared by the prefill strategies: what each GPU did when, which activity each one
// waited for (so the critical path can be walked back from the first token), and an optional
// trace. Activities are compute segments on a GPU or communication (a message, a collective).

#include <string_view>
#include <vector>

#include "sim/prefill/prefill_strategy.hpp"

namespace kvsim::prefill {

class Timeline {
 public:
  static constexpr int kNone = -1;

  Timeline(int processes, bool record_trace);

  /// A compute segment of process `p`; `after` is the activity whose end released it.
  int compute(int p, SimTime start, SimTime end, int after, std::string_view stage, int layer);
  /// A transfer or collective; `after` is the activity that issued it.
  int communication(SimTime start, SimTime end, int after, std::string_view what, int layer);
  /// A point-to-point message from process `from` to process `to` (the trace draws an arrow).
  int message(int from, int to, SimTime start, SimTime end, int after, std::string_view what,
              int layer);
  /// The later-ending of two activities (what a step waiting on both depends on).
  int later(int a, int b) const;
  SimTime end_of(int activity) const { return activities_[activity].end; }

  /// Fills TTFT, per-GPU times, critical-path split and trace of `out`.
  void finish(SimTime ttft, int last_activity, PrefillResult& out) const;

 private:
  struct Activity {
    SimTime start;
    SimTime end;
    int after;
    bool compute;
  };
  struct Gpu {
    SimTime first{SimTime::max()};
    SimTime last{0};
    Duration busy{0};
  };
  std::vector<Activity> activities_;
  std::vector<Gpu> gpus_;
  bool record_trace_;
  std::vector<TraceSlice> trace_;
};

}  // namespace kvsim::prefill
