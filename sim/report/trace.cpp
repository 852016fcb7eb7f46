#include "sim/report/trace.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iterator>
#include <map>
#include <queue>
#include <string_view>

#include <fmt/format.h>

#include "sim/core/config.hpp"
#include "sim/core/input_error.hpp"
#include "sim/core/units.hpp"

namespace kvsim::report {
namespace {

using prefill::TraceSlice;

// One strategy's tracks, each split into lanes (threads) whose slices never overlap.
struct Layout {
  std::vector<std::string_view> tracks;              // NaturalLess order: deterministic ids
  std::vector<std::vector<std::uint32_t>> by_start;  // per track: its slices by start time
  std::vector<int> first_tid;                        // per track: the thread of its first lane
  std::vector<int> lanes;                            // per track
  std::vector<int> tid;                              // per slice
};

// Interval partitioning of one track's slices, taken in order of start: each goes to the
// lowest lane whose slices have all ended by its start (touching is not overlapping). Returns
// the number of lanes, the most slices that overlap at one time.
int assign_lanes(const std::vector<TraceSlice>& slices, const std::vector<std::uint32_t>& order,
                 int first_tid, std::vector<int>& tid) {
  using Busy = std::pair<SimTime, int>;  // (end, lane)
  std::priority_queue<Busy, std::vector<Busy>, std::greater<>> busy;
  std::priority_queue<int, std::vector<int>, std::greater<>> idle;
  int lanes = 0;
  for (const std::uint32_t i : order) {
    while (!busy.empty() && busy.top().first <= slices[i].start) {
      idle.push(busy.top().second);
      busy.pop();
    }
    int lane = lanes;
    if (idle.empty()) {
      ++lanes;
    } else {
      lane = idle.top();
      idle.pop();
    }
    tid[i] = first_tid + lane;
    busy.emplace(slices[i].end, lane);
  }
  return lanes;
}

// Track names in natural order ("gpu2" before "gpu10"), so that threads appear in GPU order.
struct NaturalLess {
  static std::string_view digits(std::string_view s, std::size_t from) {
    std::size_t end = from;
    while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) ++end;
    return s.substr(from, end - from);
  }
  bool operator()(std::string_view a, std::string_view b) const {
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < a.size() && j < b.size()) {
      const std::string_view x = digits(a, i);
      const std::string_view y = digits(b, j);
      if (!x.empty() && !y.empty()) {
        // Numbers compare by value: without leading zeros, the shorter is smaller.
        const std::string_view u = x.substr(std::min(x.find_first_not_of('0'), x.size()));
        const std::string_view v = y.substr(std::min(y.find_first_not_of('0'), y.size()));
        if (u.size() != v.size()) return u.size() < v.size();
        if (u != v) return u < v;
        i += x.size();
        j += y.size();
      } else {
        if (a[i] != b[j]) return a[i] < b[j];
        ++i;
        ++j;
      }
    }
    return a.size() - i < b.size() - j || (a.size() - i == b.size() - j && a < b);
  }
};

Layout lay_out(const std::vector<TraceSlice>& slices) {
  std::map<std::string_view, std::vector<std::uint32_t>, NaturalLess> by_track;
  for (std::size_t i = 0; i < slices.size(); ++i) {
    by_track[slices[i].track].push_back(static_cast<std::uint32_t>(i));
  }
  Layout l;
  l.tid.assign(slices.size(), 0);
  int next_tid = 1;
  for (auto& [name, order] : by_track) {
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      return slices[a].start < slices[b].start;
    });
    l.tracks.push_back(name);
    l.first_tid.push_back(next_tid);
    l.lanes.push_back(assign_lanes(slices, order, next_tid, l.tid));
    next_tid += l.lanes.back();
    l.by_start.push_back(std::move(order));
  }
  return l;
}

const std::vector<std::uint32_t>* track_slices(const Layout& l, std::string_view name) {
  const auto it = std::lower_bound(l.tracks.begin(), l.tracks.end(), name, NaturalLess());
  if (it == l.tracks.end() || *it != name) return nullptr;
  return &l.by_start[static_cast<std::size_t>(it - l.tracks.begin())];
}

// Microseconds, the unit of "ts" and "dur", from integer nanoseconds, written so that a reader
// that rounds and one that truncates (Perfetto: int64(us * 1000.0)) both get the nanoseconds
// back: "12.345", or "12.34501" where "12.345" parses a hair below 12345 ns. Exact times keep
// slices that touch from overlapping by a nanosecond.
std::string us(SimTime t) {
  const std::int64_t ns = t.count();
  std::string s = fmt::format("{}.{:03}", ns / 1000, ns % 1000);
  if (static_cast<std::int64_t>(std::strtod(s.c_str(), nullptr) * 1000.0) != ns) s += "01";
  return s;
}

std::string json_string(std::string_view s) {
  return Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Where a flow arrow binds: the middle of a slice, inside it and no other on its lane.
SimTime middle(const TraceSlice& s) { return s.start + (s.end - s.start) / 2; }

// Appends events to one string, refusing to pass the size limit.
class Writer {
 public:
  Writer(std::size_t max_bytes, const std::string& source, std::size_t estimate)
      : max_(max_bytes), source_(source) {
    out_.reserve(std::min(estimate, max_bytes) + 64);
    out_ = "{\"traceEvents\":[";
  }

  template <typename... T>
  void event(fmt::format_string<T...> format, T&&... args) {
    out_ += first_ ? "\n" : ",\n";
    first_ = false;
    fmt::format_to(std::back_inserter(out_), format, std::forward<T>(args)...);
    if (out_.size() > max_) too_large();
  }

  std::string finish(const std::vector<std::string>& warnings) {
    out_ += "\n]";
    if (!warnings.empty()) {
      out_ += ",\"otherData\":{\"warnings\":";
      out_ += Json(warnings).dump(-1, ' ', false, Json::error_handler_t::replace);
      out_ += "}";
    }
    out_ += "}\n";
    if (out_.size() > max_) too_large();
    return std::move(out_);
  }

 private:
  [[noreturn]] void too_large() const {
    const std::size_t suggestion = std::max<std::size_t>(2 * max_, kDefaultTraceLimit);
    throw InputError(source_, "",
                     fmt::format("trace.json would be larger than the trace limit of {} ({} B); "
                                 "raise it with --trace-limit (e.g. --trace-limit {}MiB), or "
                                 "trace fewer GPUs, layers or strategies",
                                 format_bytes(static_cast<double>(max_)), max_,
                                 (suggestion + (1 << 20) - 1) >> 20));
  }

  std::size_t max_;
  const std::string& source_;
  std::string out_;
  bool first_ = true;
};

void write_threads(Writer& w, int pid, const Layout& l) {
  for (std::size_t t = 0; t < l.tracks.size(); ++t) {
    for (int lane = 0; lane < l.lanes[t]; ++lane) {
      const int tid = l.first_tid[t] + lane;
      const std::string name =
          lane == 0 ? std::string(l.tracks[t]) : fmt::format("{} #{}", l.tracks[t], lane + 1);
      w.event(R"({{"ph":"M","name":"thread_name","pid":{},"tid":{},"args":{{"name":{}}}}})", pid,
              tid, json_string(name));
      w.event(R"({{"ph":"M","name":"thread_sort_index","pid":{},"tid":{},)"
              R"("args":{{"sort_index":{}}}}})",
              pid, tid, tid);
    }
  }
}

// The arrow of message `m`: from the sender's last slice to start before the message, through
// the message, to the receiver's first slice to start after it arrives. Flow events match on
// (cat, name, id), so all three carry the message's name.
void write_flow(Writer& w, int pid, const std::vector<TraceSlice>& slices, const Layout& l,
                std::uint32_t m, std::uint64_t id) {
  const TraceSlice& msg = slices[m];
  const auto* sender = track_slices(l, fmt::format("gpu{}", msg.from));
  const auto* receiver = track_slices(l, fmt::format("gpu{}", msg.to));
  if (sender == nullptr || receiver == nullptr) return;
  const auto sent = std::partition_point(sender->begin(), sender->end(), [&](std::uint32_t i) {
    return slices[i].start < msg.start;
  });
  const auto consumed = std::partition_point(receiver->begin(), receiver->end(), [&](auto i) {
    return slices[i].start < msg.end;
  });
  if (sent == sender->begin() || consumed == receiver->end()) return;
  const std::string name = json_string(msg.name);
  const std::uint32_t from = *(sent - 1);
  constexpr std::string_view format =
      R"({{"ph":"{}","cat":"kvsim","name":{},"id":{},"pid":{},"tid":{},"ts":{}{}}})";
  w.event(format, "s", name, id, pid, l.tid[from], us(middle(slices[from])), "");
  w.event(format, "t", name, id, pid, l.tid[m], us(middle(msg)), "");
  w.event(format, "f", name, id, pid, l.tid[*consumed], us(middle(slices[*consumed])),
          R"(,"bp":"e")");
}

std::size_t estimated_size(const std::vector<prefill::PrefillResult>& results) {
  std::size_t bytes = 64;
  for (const auto& r : results) {
    for (const auto& s : r.trace) bytes += (s.from >= 0 ? 4 : 1) * (100 + s.name.size());
  }
  return bytes;
}

}  // namespace

std::size_t parse_trace_limit(const std::string& text) {
  double bytes = 0;
  try {
    bytes = parse_bytes(text);
  } catch (const UnitError& e) {
    throw InputError("--trace-limit", "", e.what());
  }
  if (!(bytes >= 1 && bytes <= 1e18)) {  // 1e18 B keeps 2x the limit within std::size_t
    throw InputError("--trace-limit", "",
                     fmt::format("'{}' must be a size from 1B to 1000000TB", text));
  }
  return static_cast<std::size_t>(bytes);
}

std::string chrome_trace(const std::vector<prefill::PrefillResult>& results,
                         std::size_t max_bytes, const std::string& source,
                         const std::vector<std::string>& warnings) {
  Writer w(max_bytes, source, estimated_size(results));
  std::uint64_t flow = 0;
  for (std::size_t s = 0; s < results.size(); ++s) {
    const auto pid = static_cast<int>(s + 1);
    const std::vector<TraceSlice>& slices = results[s].trace;
    const Layout l = lay_out(slices);
    w.event(R"({{"ph":"M","name":"process_name","pid":{},"args":{{"name":{}}}}})", pid,
            json_string(results[s].label));
    write_threads(w, pid, l);
    for (std::size_t i = 0; i < slices.size(); ++i) {
      w.event(R"({{"ph":"X","cat":"kvsim","name":{},"pid":{},"tid":{},"ts":{},"dur":{}}})",
              json_string(slices[i].name), pid, l.tid[i], us(slices[i].start),
              us(slices[i].end - slices[i].start));
    }
    for (std::size_t i = 0; i < slices.size(); ++i) {
      if (slices[i].from < 0) continue;
      write_flow(w, pid, slices, l, static_cast<std::uint32_t>(i), ++flow);
    }
  }
  return w.finish(warnings);
}

}  // namespace kvsim::report
