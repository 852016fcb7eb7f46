#include "sim/prefill/timeline.hpp"

#include <fmt/format.h>

namespace kvsim::prefill {

Timeline::Timeline(int processes, bool record_trace)
    : gpus_(static_cast<std::size_t>(processes)), record_trace_(record_trace) {
  activities_.reserve(1024);
}

int Timeline::compute(int p, SimTime start, SimTime end, int after, std::string_view stage,
                      int layer) {
  Gpu& g = gpus_[p];
  g.first = std::min(g.first, start);
  g.last = std::max(g.last, end);
  g.busy += end - start;
  if (record_trace_ && end > start) {
    trace_.push_back(TraceSlice{fmt::format("gpu{}", p),
                                layer < 0 ? std::string(stage) : fmt::format("L{} {}", layer, stage),
                                start, end});
  }
  activities_.push_back(Activity{start, end, after, true});
  return static_cast<int>(activities_.size()) - 1;
}

int Timeline::communication(SimTime start, SimTime end, int after, std::string_view what,
                            int layer) {
  if (record_trace_ && end > start) {
    trace_.push_back(TraceSlice{"network", fmt::format("L{} {}", layer, what), start, end});
  }
  activities_.push_back(Activity{start, end, after, false});
  return static_cast<int>(activities_.size()) - 1;
}

int Timeline::message(int from, int to, SimTime start, SimTime end, int after,
                      std::string_view what, int layer) {
  if (record_trace_ && end > start) {
    trace_.push_back(TraceSlice{"network",
                                fmt::format("L{} {} gpu{}->gpu{}", layer, what, from, to), start,
                                end, from, to});
  }
  activities_.push_back(Activity{start, end, after, false});
  return static_cast<int>(activities_.size()) - 1;
}

int Timeline::later(int a, int b) const {
  if (a == kNone) return b;
  if (b == kNone) return a;
  return activities_[b].end > activities_[a].end ? b : a;
}

void Timeline::finish(SimTime ttft, int last, PrefillResult& out) const {
  out.ttft = ttft;
  out.gpus.clear();
  for (const Gpu& g : gpus_) {
    GpuTime t;
    t.busy = g.busy;
    if (g.first <= g.last) {
      t.waiting = (g.last - g.first) - g.busy;
      t.idle = ttft - (g.last - g.first);
    } else {
      t.idle = ttft;
    }
    out.gpus.push_back(t);
  }
  Duration compute{0};
  for (int a = last; a != kNone; a = activities_[a].after) {
    if (activities_[a].compute) compute += activities_[a].end - activities_[a].start;
  }
  out.critical_compute = compute;
  out.critical_communication = ttft - compute;
  if (record_trace_) out.trace.insert(out.trace.end(), trace_.begin(), trace_.end());
}

}  // namespace kvsim::prefill
