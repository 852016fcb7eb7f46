// `kvsim serve SCENARIO`: the serving simulation of the scenario's "serving" section. Prints the
// summary (TTFT, TPOT, inter-token latency, end-to-end latency, queueing, throughput, goodput,
// KV use); --out writes summary.json and, when asked, CSVs streamed while the simulation runs:
// one row per request (--requests), per token (--tokens), per replica and interval (--timeline).
#include <chrono>
#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include "sim/core/progress.hpp"
#include "sim/report/output.hpp"
#include "sim/report/serving_trace.hpp"
#include "sim/report/trace.hpp"
#include "sim/serving/engine.hpp"
#include "tools/api/api.hpp"
#include "tools/kvsim/scenario_loading.hpp"

namespace kvsim::cli {
namespace {

struct ServeOptions {
  ScenarioOptions scenario;
  std::string out;
  bool requests = false;
  bool tokens = false;
  bool timeline = false;
  double timeline_interval = 1.0;
  bool save_detailed = false;  // vllm_bench's per-request arrays
  bool trace = false;  // trace.json: Chrome trace events (report/serving_trace.hpp)
  std::string trace_window;
  std::uint64_t trace_requests = 0;
  std::string trace_limit = "1GiB";
  bool quiet = false;
};

// A streamed CSV (OutputDirectory::stream): its header now, rows as the simulation goes.
std::FILE* open_csv(report::OutputDirectory& out, const std::string& name, const char* header) {
  std::FILE* f = out.stream(name);
  std::fputs(header, f);
  return f;
}

// A statistic in milliseconds, or n/a where it is undefined (null: no sample).
std::string ms(const Json& seconds) {
  return seconds.is_null() ? "n/a" : fmt::format("{:.2f}", 1e3 * seconds.get<double>());
}

void print_latency(const char* name, const Json& j) {
  fmt::print("  {:<16} mean {:>9}  p50 {:>9}  p90 {:>9}  p99 {:>9} ms\n", name, ms(j["mean_s"]),
             ms(j["p50_s"]), ms(j["p90_s"]), ms(j["p99_s"]));
}

// A number, or n/a where it is undefined (null).
std::string number(const Json& v, const char* format) {
  return v.is_number() ? fmt::format(fmt::runtime(format), v.get<double>()) : "n/a";
}

void print_speculative(const Json& spec) {
  fmt::print("  speculative ({}): {} tokens per step (mean acceptance length {}, expected {}), "
             "draft acceptance {}\n  speed-up against the same run without it: TPOT mean {}x, "
             "p50 {}x, p99 {}x; output throughput {}x\n",
             spec["type"].get<std::string>(), number(spec["mean_tokens_per_step"], "{:.3f}"),
             number(spec["mean_acceptance_length"], "{:.3f}"),
             number(spec["expected_acceptance_length"], "{:.3f}"),
             number(spec["draft_acceptance_rate"], "{:.3f}"),
             number(spec["speedup"]["tpot_mean"], "{:.3f}"),
             number(spec["speedup"]["tpot_p50"], "{:.3f}"),
             number(spec["speedup"]["tpot_p99"], "{:.3f}"),
             number(spec["speedup"]["output_throughput"], "{:.3f}"));
}

// The CSVs asked for, streamed into `out` while the simulation runs.
serving::ServingObservers stream_observers(const ServeOptions& o,
                                           std::optional<report::OutputDirectory>& out) {
  serving::ServingObservers observers;
  if (o.requests) {
    std::FILE* f = open_csv(*out, "requests.csv", api::kRequestsHeader);
    observers.request = [f](const serving::RequestRecord& q) {
      std::fputs(api::request_row(q).c_str(), f);
    };
  }
  if (o.tokens) {
    std::FILE* tokens = open_csv(*out, "tokens.csv", "id,token,time_s\n");
    observers.token = [f = tokens](std::uint64_t id, std::int64_t index, double time) {
      fmt::print(f, "{},{},{:.6f}\n", id, index, time);
    };
  }
  if (o.timeline) {
    std::FILE* f = open_csv(*out, "timeline.csv", api::kTimelineHeader);
    observers.timeline = [f](const serving::TimelineSample& t) {
      std::fputs(api::timeline_row(t).c_str(), f);
    };
    observers.timeline_interval = from_seconds(o.timeline_interval);
  }
  return observers;
}

// Prefill/decode disaggregation (sim/serving/disaggregation): the pools, then what they did.
void print_disaggregated_header(const Scenario& s, const Json& d) {
  fmt::print("kvsim serve: {} ({}), disaggregated: {} prefill instance(s) of {} {} ({}), {} decode "
             "instance(s) of tp {}, {} KV transfer, {} policy\n",
             s.name, s.file, d["prefill"]["instances"].get<int>(), d["prefill"]["gpus"].get<int>(),
             s.gpu.name, d["prefill"]["strategy"]["type"].get<std::string>(),
             d["decode"]["instances"].get<int>(), d["decode"]["tensor_parallel"].get<int>(),
             d["transfer"].get<std::string>(), d["policy"]["type"].get<std::string>());
}

void print_disaggregated(const Json& d) {
  fmt::print("  pools: prefill busy {:.1f}%, decode busy {:.1f}%; {} KV transfers, {:.2f} GB, "
             "mean {:.2f} ms; {} waits for decode memory ({:.2f} s); goodput per GPU {:.3f} "
             "requests/s\n",
             100 * d["prefill"]["busy_fraction"].get<double>(),
             100 * d["decode"]["busy_fraction"].get<double>(),
             d["kv_transfer"]["count"].get<std::uint64_t>(),
             d["kv_transfer"]["bytes"].get<double>() / 1e9,
             1e3 * d["kv_transfer"]["mean_s"].get<double>(),
             d["decode_memory_waits"]["count"].get<std::uint64_t>(),
             d["decode_memory_waits"]["seconds"].get<double>(),
             d["goodput_per_gpu"].get<double>());
}

void print_summary(const Scenario& s, const Json& j, double wall) {
  const Json& config = j["config"];
  if (config.contains("disaggregation")) {
    print_disaggregated_header(s, config["disaggregation"]);
  } else {
    fmt::print("kvsim serve: {} ({}), {} over {} memory, {} replica(s) of {} x {} {}\n",
               s.name, s.file, config["scheduler"]["type"].get<std::string>(),
               config["memory"]["type"].get<std::string>(), config["replicas"].get<int>(),
               config["tensor_parallel"].get<int>(), config["pipeline_parallel"].get<int>(),
               s.gpu.name);
  }
  fmt::print("  {} requests over {:.1f} s simulated ({:.3f} s wall, {} events)\n",
             j["requests"].get<std::uint64_t>(), j["duration_s"].get<double>(), wall,
             j["events"].get<std::uint64_t>());
  if (j["rejected"] != 0 || j["truncated"] != 0) {
    fmt::print("  {} requests rejected (longer than the model's context), {} truncated to "
               "max_tokens: see the warnings\n",
               j["rejected"].get<std::uint64_t>(), j["truncated"].get<std::uint64_t>());
  }
  print_latency("TTFT", j["ttft"]);
  print_latency("TPOT", j["tpot"]);
  print_latency("inter-token", j["itl"]);
  print_latency("end-to-end", j["e2e_latency"]);
  print_latency("queueing", j["queueing_delay"]);
  fmt::print("  throughput {:.2f} requests/s, {:.0f} output tokens/s; goodput {:.2f} requests/s\n",
             j["request_throughput"].get<double>(), j["output_throughput"].get<double>(),
             j["goodput"].get<double>());
  fmt::print("  KV: {} tokens per replica, {:.1f}% used on average, {:.1f}% of held memory "
             "wasted; {} preemptions ({} by swap); GPU busy {:.1f}%\n",
             j["kv_capacity_tokens_per_replica"].get<std::int64_t>(),
             100 * j["kv_utilization"].get<double>(), 100 * j["kv_waste"].get<double>(),
             j["preemptions"].get<std::uint64_t>(), j["swaps"].get<std::uint64_t>(),
             100 * j["gpu_busy_fraction"].get<double>());
  if (j.contains("speculative")) print_speculative(j["speculative"]);
  if (j.contains("disaggregation")) print_disaggregated(j["disaggregation"]);
}

int serve(const ServeOptions& o) {
  // Option errors and the output directory come after the scenario's checks (in observers:
  // run once the serving section is known good), so bad input never touches --out.
  std::optional<report::OutputDirectory> out;
  std::optional<report::ServingTrace> trace;
  std::optional<Progress> progress;
  const auto observers = [&](const Scenario&, const serving::Workload& workload) {
    if ((o.requests || o.tokens || o.timeline) && o.out.empty()) {
      throw InputError("--requests/--tokens/--timeline", "", "these write files: add --out DIR");
    }
    // At least a microsecond (a shorter interval rounds towards 0 ns and would never advance).
    if (!(o.timeline_interval >= 1e-6 && o.timeline_interval <= serving::kMaxArrivalSeconds)) {
      throw InputError("--timeline-interval", "",
                       fmt::format("must be from 1e-06 to {:g} seconds, got {}",
                                   serving::kMaxArrivalSeconds, o.timeline_interval));
    }
    // Opened (and checked) before the simulation; its files are committed together at the
    // end, and removed if the run fails or is interrupted.
    const report::ServingTraceBounds bounds = api::trace_bounds(
        {.window = o.trace_window, .requests = o.trace_requests, .limit = o.trace_limit});
    if (!o.out.empty()) out.emplace(o.out);
    serving::ServingObservers streams = stream_observers(o, out);
    // Completed requests on a terminal (never in pipes; stdout and files are unchanged).
    // Rejected requests complete nothing, so a run that rejects some ends short of the total.
    progress.emplace("kvsim serve: requests", workload.total(), !o.quiet);
    if (progress->enabled()) {
      streams.request = [write = streams.request, &progress,
                         done = std::size_t{0}](const serving::RequestRecord& q) mutable {
        if (write) write(q);
        progress->update(++done);
      };
    }
    if (!o.trace) return streams;
    trace.emplace(out->stream("trace.json"), bounds, workload.total());
    streams.timeline_interval = from_seconds(o.timeline_interval);  // the trace's counters
    return trace->attach(std::move(streams));
  };
  const auto start = std::chrono::steady_clock::now();
  const api::ServeOutcome x =
      api::serve(api::read_document(o.scenario.path, o.scenario.overrides),
                 {.strict = o.scenario.strict, .save_detailed = o.save_detailed}, observers);
  if (progress) progress->finish();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Scenario& s = x.scenario;
  const Json& j = x.summary;
  for (const auto& w : j["warnings"]) {
    fmt::print(stderr, "kvsim: warning: {}\n", w.get<std::string>());
  }
  if (!o.quiet) print_summary(s, j, wall);
  if (trace) {
    const std::string bounds = trace->finish(s.name, j["warnings"]);
    if (!o.quiet) fmt::print("  trace.json: {}\n", bounds);
  }
  if (out) {
    out->add("summary.json", j.dump(2) + "\n");
    out->add("scenario.resolved.json", s.resolved.dump(2) + "\n");
    out->commit();
  }
  return 0;
}

}  // namespace

void add_serve(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand("serve", "Simulate serving traffic: the scenario's "
                                              "\"serving\" section");
  auto o = std::make_shared<ServeOptions>();
  add_scenario_options(*cmd, o->scenario);
  cmd->add_option("--out", o->out, "write summary.json (and the CSVs asked for) here");
  cmd->add_flag("--requests", o->requests,
                "also write requests.csv: one row per request (times, TTFT, TPOT, preemptions)");
  cmd->add_flag("--tokens", o->tokens, "also write tokens.csv: the time of every output token");
  cmd->add_flag("--timeline", o->timeline,
                "also write timeline.csv: each replica's queue and KV memory over time");
  cmd->add_option("--timeline-interval", o->timeline_interval,
                  "seconds of simulated time between timeline rows")
      ->capture_default_str();
  cmd->add_flag("--save-detailed", o->save_detailed,
                "summary.json's vllm_bench also holds the per-request arrays `vllm bench serve "
                "--save-detailed` writes (input_lens, output_lens, ttfts, itls, ...)");
  cmd->add_flag("--trace", o->trace,
                "also write trace.json (Chrome trace events for Perfetto: each replica's "
                "iterations, each request's lifetime, KV and queue counters every "
                "--timeline-interval)")
      ->needs("--out");
  cmd->add_option("--trace-window", o->trace_window,
                  "trace only events overlapping START:END (seconds of simulated time)")
      ->needs("--trace");
  cmd->add_option("--trace-requests", o->trace_requests,
                  "trace at most N requests' lifetimes (every k-th id; 0: all)")
      ->needs("--trace");
  cmd->add_option("--trace-limit", o->trace_limit,
                  "refuse a trace.json growing past this size (500MB, 4GiB)")
      ->capture_default_str()
      ->needs("--trace");
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  cmd->callback([&selected, o] { selected = [o] { return serve(*o); }; });
}

}  // namespace kvsim::cli
