// Layouts whose simulations are provably the same (see equivalence.hpp).
#include "sim/plan/equivalence.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace kvsim::plan {
namespace {

// The largest sum of `peak` over the spans admitted at once, on each replica, at most.
template <class Peak>
std::int64_t largest_in_system(const Trace& trace, int replicas, const Peak& peak) {
  // Events (time, +peak at arrival, -peak after completion); at equal times additions come
  // first, so a request completing as another arrives counts with it (over-counting is safe).
  std::vector<std::vector<std::pair<double, std::int64_t>>> events(
      static_cast<std::size_t>(replicas));
  for (const Trace::Span& s : trace.spans) {
    const std::int64_t p = peak(s);
    for (int r = 0; r < replicas; ++r) {
      if (s.replica != -1 && s.replica != r) continue;
      events[static_cast<std::size_t>(r)].emplace_back(s.from, p);
      events[static_cast<std::size_t>(r)].emplace_back(s.to, -p);
    }
  }
  std::int64_t largest = 0;
  for (auto& e : events) {
    std::sort(e.begin(), e.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    });
    std::int64_t sum = 0;
    for (const auto& [time, delta] : e) largest = std::max(largest, sum += delta);
  }
  return largest;
}

// Routers that never read KV memory (least-kv routes by the block-rounded memory held).
bool router_ignores_memory(const serving::Router& r) {
  const std::string name = r.name();
  return name == "round-robin" || name == "least-outstanding";
}

}  // namespace

std::string equivalence_key(const Candidate& c, const Screening& s) {
  Json key = c.to_json();
  for (const char* differs : {"index", "label", "block_size", "preemption"}) key.erase(differs);
  key["rate_bound"] = s.rate_bound;
  key["kv_tokens_per_stage"] = s.kv_tokens_per_stage;
  return key.dump();
}

void TraceRecorder::expect(double arrival, std::int64_t prompt, std::int64_t output) {
  expected_.push_back({arrival, prompt, output});
}

void TraceRecorder::finished(const serving::RequestRecord& r) { finished_.push_back(r); }

Trace TraceRecorder::trace(bool stopped) const {
  Trace t;
  std::vector<const serving::RequestRecord*> by_id(expected_.size(), nullptr);
  double stop = 0;  // seconds: the last completion seen (a stopped run ended there)
  for (const serving::RequestRecord& r : finished_) {
    if (r.id >= by_id.size() || r.preemptions > 0) {
      t.provable = false;
      return t;
    }
    by_id[r.id] = &r;
    stop = std::max(stop, r.completion);
  }
  for (std::size_t id = 0; id < expected_.size(); ++id) {
    const Expected& e = expected_[id];
    if (const serving::RequestRecord* r = by_id[id]) {
      // Admitted (holding KV) from its first scheduling: Replica::try_launch plans a batch and
      // launches it, stamping `scheduled`, at the same instant.
      t.spans.push_back({r->scheduled, r->completion, r->replica, e.prompt, e.output});
    } else if (stopped && e.arrival <= stop) {
      t.spans.push_back({e.arrival, stop, -1, e.prompt, e.output});
    }
    // Otherwise the request was rejected on arrival (longer than the context): never held KV.
  }
  return t;
}

MemoryBound::MemoryBound(serving::ServingSetup&& setup)
    : replicas_(setup.replicas),
      eligible_(!setup.speculation && !setup.disaggregation && !setup.memories.empty() &&
                setup.router && router_ignores_memory(*setup.router)) {
  if (!eligible_) return;
  limit_ = std::numeric_limits<std::int64_t>::max();
  for (const auto& m : setup.memories) {
    // Paged's admission reserve (memory.cpp): watermark x capacity, rounded down.
    const Json j = m->to_json();
    const double watermark = j.contains("watermark") ? j["watermark"].get<double>() : 0.0;
    const auto reserve =
        static_cast<std::int64_t>(watermark * static_cast<double>(m->capacity()));
    limit_ = std::min(limit_, m->capacity() - reserve);
  }
  memory_ = std::move(setup.memories.front());
}

bool MemoryBound::never_binds(const Trace& trace) const {
  if (!eligible_ || !trace.provable) return false;
  const auto peak = [this](const Trace::Span& s) {
    serving::Request r;
    r.prompt = s.prompt;
    r.output = s.output;
    return memory_->peak_tokens(r);
  };
  // An admission refused at time t would need what the admitted sequences hold (at most their
  // peaks) plus the newcomer's charge (at most the largest peak) past the limit.
  std::int64_t largest_peak = 0;
  for (const Trace::Span& s : trace.spans) largest_peak = std::max(largest_peak, peak(s));
  return largest_in_system(trace, replicas_, peak) + largest_peak <= limit_;
}

}  // namespace kvsim::plan
