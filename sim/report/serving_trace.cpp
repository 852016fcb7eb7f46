// kvsim serve --trace (see serving_trace.hpp).
#include "sim/report/serving_trace.hpp"

#include <cmath>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/serving/workload.hpp"

namespace kvsim::report {
namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

std::int64_t to_ns(double seconds) {
  return std::isinf(seconds) ? kNever : std::llround(seconds * 1e9);
}

// Microseconds, exact: integer nanoseconds with three decimals.
std::string us(std::int64_t ns) { return fmt::format("{}.{:03}", ns / 1000, ns % 1000); }

}  // namespace

void parse_trace_window(const std::string& text, ServingTraceBounds& bounds) {
  const auto colon = text.find(':');
  const auto fail = [&] {
    throw InputError("--trace-window", "",
                     fmt::format("expected START:END in seconds of simulated time, 0 <= START < "
                                 "END <= {:g} (e.g. 60:120), got '{}'",
                                 serving::kMaxArrivalSeconds, text));
  };
  if (colon == std::string::npos) fail();
  try {
    std::size_t used = 0;
    const std::string a = text.substr(0, colon), b = text.substr(colon + 1);
    bounds.window_start_s = std::stod(a, &used);
    if (used != a.size()) fail();
    bounds.window_end_s = std::stod(b, &used);
    if (used != b.size()) fail();
  } catch (const std::logic_error&) {  // std::invalid_argument, std::out_of_range
    fail();
  }
  if (!(bounds.window_start_s >= 0 && bounds.window_start_s < bounds.window_end_s &&
        bounds.window_end_s <= serving::kMaxArrivalSeconds)) {
    fail();
  }
}

ServingTrace::ServingTrace(std::FILE* out, const ServingTraceBounds& bounds,
                           std::uint64_t total_requests)
    : out_(out),
      bounds_(bounds),
      window_start_ns_(to_ns(bounds.window_start_s)),
      window_end_ns_(to_ns(bounds.window_end_s)),
      stride_(bounds.requests > 0 && total_requests > bounds.requests
                  ? (total_requests + bounds.requests - 1) / bounds.requests
                  : 1) {
  std::fputs("{\"traceEvents\":[\n", out_);
}

serving::ServingObservers ServingTrace::attach(serving::ServingObservers o) {
  o.request = [this, before = std::move(o.request)](const serving::RequestRecord& q) {
    if (before) before(q);
    request(q);
  };
  o.timeline = [this, before = std::move(o.timeline)](const serving::TimelineSample& t) {
    if (before) before(t);
    counters(t);
  };
  o.iteration = [this, before = std::move(o.iteration)](const serving::IterationRecord& r) {
    if (before) before(r);
    iteration(r);
  };
  return o;
}

bool ServingTrace::in_window(std::int64_t start_ns, std::int64_t end_ns) const {
  return end_ns >= window_start_ns_ && start_ns <= window_end_ns_;
}

void ServingTrace::emit(const std::string& event) {
  if (events_++ > 0) std::fputs(",\n", out_);
  std::fputs(event.c_str(), out_);
  bytes_ += event.size() + 2;
  if (bounds_.limit_bytes > 0 && bytes_ > bounds_.limit_bytes) {
    throw InputError("--trace-limit", "",
                     fmt::format("the serving trace passed {} bytes; narrow it with "
                                 "--trace-window START:END or --trace-requests N, or raise "
                                 "--trace-limit",
                                 bounds_.limit_bytes));
  }
}

// Perfetto's names for a replica (a process) and its stages (threads), once each.
void ServingTrace::name_track(int replica, int stage) {
  const auto r = static_cast<std::size_t>(replica);
  if (named_.size() <= r) named_.resize(r + 1);
  auto& stages = named_[r];
  if (stages.empty()) {
    emit(fmt::format(
        R"({{"ph":"M","pid":{},"name":"process_name","args":{{"name":"replica {}"}}}})",
        replica, replica));
  }
  if (stage < 0) return;
  const auto s = static_cast<std::size_t>(stage);
  if (stages.size() <= s) stages.resize(s + 1);
  if (stages[s]) return;
  stages[s] = true;
  emit(fmt::format(
      R"({{"ph":"M","pid":{},"tid":{},"name":"thread_name","args":{{"name":"stage {}"}}}})",
      replica, stage, stage));
}

void ServingTrace::iteration(const serving::IterationRecord& r) {
  if (!in_window(r.start_ns, r.end_ns)) return;
  name_track(r.replica, r.stage);
  const char* kind = r.prefills == 0 ? "decode" : r.decodes == 0 ? "prefill" : "prefill+decode";
  emit(fmt::format(R"({{"ph":"X","pid":{},"tid":{},"ts":{},"dur":{},"name":"{}",)"
                   R"("args":{{"prefill_tokens":{},"prefills":{},"decodes":{}}}}})",
                   r.replica, r.stage, us(r.start_ns), us(r.end_ns - r.start_ns), kind,
                   r.prefill_tokens, r.prefills, r.decodes));
}

void ServingTrace::request(const serving::RequestRecord& q) {
  const std::int64_t arrival = to_ns(q.arrival), completion = to_ns(q.completion);
  if (q.id % stride_ != 0 || !in_window(arrival, completion)) return;
  name_track(q.replica, -1);
  emit(fmt::format(R"({{"ph":"b","cat":"request","id":{},"pid":{},"ts":{},"name":"request {}",)"
                   R"("args":{{"prompt_tokens":{},"output_tokens":{},"ttft_ms":{:.3f},)"
                   R"("queueing_ms":{:.3f},"preemptions":{}}}}})",
                   q.id, q.replica, us(arrival), q.id, q.prompt, q.output,
                   1e3 * (q.first_token - q.arrival), 1e3 * (q.scheduled - q.arrival),
                   q.preemptions));
  emit(fmt::format(R"({{"ph":"e","cat":"request","id":{},"pid":{},"ts":{},"name":"request {}"}})",
                   q.id, q.replica, us(completion), q.id));
}

void ServingTrace::counters(const serving::TimelineSample& t) {
  const std::int64_t at = to_ns(t.time);
  if (!in_window(at, at)) return;
  name_track(t.replica, -1);
  emit(fmt::format(
      R"({{"ph":"C","pid":{},"ts":{},"name":"KV tokens","args":{{"used":{},"held":{}}}}})",
      t.replica, us(at), t.kv_used, t.kv_held));
  emit(fmt::format(
      R"({{"ph":"C","pid":{},"ts":{},"name":"queue","args":{{"waiting":{},"running":{}}}}})",
      t.replica, us(at), t.waiting, t.running));
}

std::string ServingTrace::finish(const std::string& scenario, const Json& warnings) {
  std::string said = std::isinf(bounds_.window_end_s)
                         ? std::string("the whole run")
                         : fmt::format("the window {:g} s to {:g} s", bounds_.window_start_s,
                                       bounds_.window_end_s);
  said += stride_ == 1 ? ", every request"
                       : fmt::format(", requests sampled: every {}th id", stride_);
  const Json other{{"scenario", scenario},
                   {"bounds", said},
                   {"window_s", {bounds_.window_start_s,
                                 std::isinf(bounds_.window_end_s) ? Json(nullptr)
                                                                  : Json(bounds_.window_end_s)}},
                   {"request_stride", stride_},
                   {"warnings", warnings}};
  fmt::print(out_, "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{}}}\n", other.dump());
  return said;
}

}  // namespace kvsim::report
