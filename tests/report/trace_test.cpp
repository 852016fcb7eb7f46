// The Chrome trace, checked the way Perfetto's JSON importer reads it: times become integer
// nanoseconds by truncating us * 1000, complete ("X") events on one thread must nest or be
// disjoint (a partial overlap is dropped as slice_drop_overlapping_complete_event), and flow
// events ("s", "t", "f") bind to the slice that encloses them on their thread.
#include "sim/report/trace.hpp"

#include <map>

#include <gtest/gtest.h>

#include "prefill/fixture.hpp"
#include "sim/core/config.hpp"
#include "sim/core/input_error.hpp"
#include "sim/network/topologies.hpp"
#include "sim/prefill/impl/kvr.hpp"
#include "sim/prefill/impl/synchronous.hpp"
#include "sim/prefill/partitioner.hpp"

namespace kvsim::report {
namespace {

using prefill::PrefillResult;
using prefill::TraceSlice;

net::Topology nvswitch(int gpus) {
  const Json j{{"type", "nvswitch"}, {"gpus", gpus}};
  return net::topologies().create(ConfigNode(&j, "test", Json::json_pointer()),
                                  catalog::gpu("a100-sxm4-80gb"));
}

std::int64_t perfetto_ns(const Json& us) {
  return static_cast<std::int64_t>(us.get<double>() * 1000.0);
}

struct Slice {
  std::int64_t start;
  std::int64_t end;
  std::string name;
};
using Thread = std::pair<int, int>;  // (pid, tid)

struct ParsedTrace {
  std::map<Thread, std::vector<Slice>> slices;  // by start time
  std::map<Thread, std::string> thread_names;
  std::map<std::int64_t, std::vector<Json>> flows;  // by id, in file order
};

ParsedTrace parse(const std::string& text) {
  ParsedTrace t;
  const Json trace = Json::parse(text);
  for (const Json& e : trace.at("traceEvents")) {
    const std::string ph = e.at("ph");
    if (ph == "X") {
      const std::int64_t start = perfetto_ns(e.at("ts"));
      t.slices[{e.at("pid"), e.at("tid")}].push_back(
          Slice{start, start + perfetto_ns(e.at("dur")), e.at("name")});
    } else if (ph == "M" && e.at("name") == "thread_name") {
      t.thread_names[{e.at("pid"), e.at("tid")}] = e.at("args").at("name");
    } else if (ph == "s" || ph == "t" || ph == "f") {
      t.flows[e.at("id")].push_back(e);
    }
  }
  for (auto& [thread, slices] : t.slices) {
    std::stable_sort(slices.begin(), slices.end(),
                     [](const Slice& a, const Slice& b) { return a.start < b.start; });
  }
  return t;
}

// The slice of `thread` that strictly encloses the flow event `e` (its start < ts < end, or
// ts == start for a slice too short to hold a point inside), or nullptr.
const Slice* binding(const ParsedTrace& t, const Json& e) {
  const auto it = t.slices.find({e.at("pid"), e.at("tid")});
  if (it == t.slices.end()) return nullptr;
  const std::int64_t ts = perfetto_ns(e.at("ts"));
  for (const Slice& s : it->second) {
    if ((s.start < ts && ts < s.end) || (s.start == ts && s.end - s.start < 2)) return &s;
  }
  return nullptr;
}

// KV-Runahead with direct sends (process 0 sends to 1, 2 and 3 at once, so messages overlap on
// the network track and flows share links) and TSP, on a 4-GPU NVSwitch, with traces.
std::vector<PrefillResult> kvr_and_tsp() {
  using prefill::testing::Fixture;
  static const std::vector<PrefillResult> results = [] {
    Fixture f("llama-2-7b", nvswitch(4), 4096);
    prefill::KvrOptions direct;
    direct.relay = false;
    std::vector<PrefillResult> r;
    r.push_back(prefill::simulate_kvr(f.setup, prefill::even_partition(4096, 4), direct, true));
    r.push_back(prefill::simulate_kvr(f.setup, prefill::Partition{1400, 1100, 900, 696},
                                      prefill::KvrOptions{}, true));
    r.push_back(prefill::TspStrategy(false).run(f.setup, true));
    return r;
  }();
  return results;
}

TEST(ChromeTrace, NoCompleteEventPartiallyOverlapsAnotherOnItsThread) {
  const std::vector<PrefillResult> results = kvr_and_tsp();
  // The input does overlap: some track has two slices that partially overlap.
  bool overlapping_input = false;
  for (const TraceSlice& a : results[0].trace) {
    for (const TraceSlice& b : results[0].trace) {
      overlapping_input |= a.track == b.track && a.start < b.start && b.start < a.end &&
                           a.end < b.end;
    }
  }
  ASSERT_TRUE(overlapping_input);
  const ParsedTrace t = parse(chrome_trace(results));
  ASSERT_FALSE(t.slices.empty());
  for (const auto& [thread, slices] : t.slices) {
    std::vector<std::int64_t> open;  // ends of the enclosing slices, innermost last
    for (const Slice& s : slices) {
      while (!open.empty() && open.back() <= s.start) open.pop_back();
      EXPECT_TRUE(open.empty() || s.end <= open.back())
          << "'" << s.name << "' on " << t.thread_names.at(thread) << " overlaps its neighbour";
      open.push_back(s.end);
    }
  }
}

TEST(ChromeTrace, EverySliceIsOneEventAtItsExactTime) {
  const std::vector<PrefillResult> results = kvr_and_tsp();
  const ParsedTrace t = parse(chrome_trace(results));
  for (std::size_t s = 0; s < results.size(); ++s) {
    std::multiset<std::tuple<std::int64_t, std::int64_t, std::string>> expected;
    std::multiset<std::tuple<std::int64_t, std::int64_t, std::string>> written;
    for (const TraceSlice& slice : results[s].trace) {
      expected.emplace(slice.start.count(), slice.end.count(), slice.name);
    }
    for (const auto& [thread, slices] : t.slices) {
      if (thread.first != static_cast<int>(s + 1)) continue;
      for (const Slice& slice : slices) written.emplace(slice.start, slice.end, slice.name);
    }
    EXPECT_EQ(written, expected) << results[s].label;
  }
}

TEST(ChromeTrace, EveryKvMessageHasAnArrowFromSenderToReceiver) {
  const std::vector<PrefillResult> results = kvr_and_tsp();
  const ParsedTrace t = parse(chrome_trace(results));
  // Direct sends: processes 0, 1, 2 send to every later one, 3 + 2 + 1 = 6 messages a layer;
  // relay: 3 a layer; TSP none. Llama-2-7B has 32 layers: (6 + 3) * 32 = 288 flows.
  ASSERT_EQ(t.flows.size(), 288u);
  for (const auto& [id, events] : t.flows) {
    ASSERT_EQ(events.size(), 3u) << "flow " << id;
    EXPECT_EQ(events[0].at("ph"), "s");
    EXPECT_EQ(events[1].at("ph"), "t");
    EXPECT_EQ(events[2].at("ph"), "f");
    EXPECT_EQ(events[2].at("bp"), "e");
    const Slice* sender = binding(t, events[0]);
    const Slice* message = binding(t, events[1]);
    const Slice* receiver = binding(t, events[2]);
    ASSERT_TRUE(sender && message && receiver) << "flow " << id << " binds to no slice";
    // "L5 kv gpu0->gpu2": the arrow leaves gpu0's thread and enters gpu2's, no earlier than the
    // message arrives.
    const std::string& name = message->name;
    const std::string from = name.substr(name.find("gpu"), name.find("->") - name.find("gpu"));
    const std::string to = name.substr(name.find("->") + 2);
    EXPECT_EQ(events[0].at("name"), name);
    EXPECT_EQ(t.thread_names.at({events[0].at("pid"), events[0].at("tid")}), from) << name;
    EXPECT_EQ(t.thread_names.at({events[2].at("pid"), events[2].at("tid")}), to) << name;
    EXPECT_LE(sender->start, message->start) << name;
    EXPECT_GE(receiver->start, message->end) << name;
  }
}

TEST(ChromeTrace, EachSliceTakesTheLowestLaneFreeAtItsStart) {
  PrefillResult r;
  r.label = "synthetic";
  const auto slice = [](std::int64_t start, std::int64_t end) {
    return TraceSlice{"link a->b", "flow", SimTime{start}, SimTime{end}};
  };
  // A [0,10) takes lane 1; B [5,15) overlaps it: lane 2; C [10,20) starts as A ends: lane 1;
  // D [12,13) overlaps B and C: lane 3. Three slices overlap at t = 12, so three lanes.
  r.trace = {slice(0, 10), slice(5, 15), slice(10, 20), slice(12, 13)};
  const Json trace = Json::parse(chrome_trace({r}));
  std::vector<int> tids;
  std::vector<std::string> names;
  for (const Json& e : trace.at("traceEvents")) {
    if (e.at("ph") == "X") tids.push_back(e.at("tid"));
    if (e.at("name") == "thread_name") names.push_back(e.at("args").at("name"));
  }
  EXPECT_EQ(tids, (std::vector<int>{1, 2, 1, 3}));
  EXPECT_EQ(names, (std::vector<std::string>{"link a->b", "link a->b #2", "link a->b #3"}));
}

TEST(ChromeTrace, ThreadsFollowGpuNumbersNotTheAlphabet) {
  PrefillResult r;
  r.label = "tsp";
  for (const char* track :
       {"gpu10", "gpu2", "link gpu10->nvswitch", "gpu1", "link gpu9->nvswitch"}) {
    r.trace.push_back(TraceSlice{track, "work", SimTime{0}, SimTime{1000}});
  }
  std::vector<std::string> names;
  const Json trace = Json::parse(chrome_trace({r}));
  for (const Json& e : trace.at("traceEvents")) {
    if (e.at("name") == "thread_name") names.push_back(e.at("args").at("name"));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"gpu1", "gpu2", "gpu10", "link gpu9->nvswitch",
                                             "link gpu10->nvswitch"}));
}

TEST(ChromeTrace, RefusesToPassItsSizeLimitAndSaysHowToRaiseIt) {
  const std::vector<PrefillResult> results = kvr_and_tsp();
  try {
    chrome_trace(results, 100000, "scenario.json");
    FAIL() << "a trace past its limit was written";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("scenario.json: trace.json would be larger than the trace limit of"),
              std::string::npos)
        << message;
    // max(2 * 100000 B, 1 GiB) = 1024 MiB.
    EXPECT_NE(message.find("--trace-limit 1024MiB"), std::string::npos) << message;
  }
}

TEST(ChromeTrace, CarriesTheScenarioWarningsAndOnlyThen) {
  PrefillResult r;
  r.label = "single";
  r.trace = {TraceSlice{"gpu0", "L0 qkv", SimTime{0}, SimTime{1000}}};
  const Json warned = Json::parse(chrome_trace({r}, kDefaultTraceLimit, "s.json", {"doubtful"}));
  EXPECT_EQ(warned.at("otherData").at("warnings"), Json::array({"doubtful"}));
  EXPECT_FALSE(Json::parse(chrome_trace({r})).contains("otherData"));
}

TEST(ChromeTrace, TraceLimitIsASize) {
  EXPECT_EQ(parse_trace_limit("2GiB"), std::size_t{2} << 30);
  EXPECT_EQ(parse_trace_limit("500MB"), 500'000'000u);
  EXPECT_THROW(parse_trace_limit("fast"), InputError);
  EXPECT_THROW(parse_trace_limit("0B"), InputError);
  EXPECT_THROW(parse_trace_limit("1e30TB"), InputError);
}

}  // namespace
}  // namespace kvsim::report
