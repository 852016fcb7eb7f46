// `kvsim serve SCENARIO`: the serving simulation of the scenario's "serving" section. Prints the
// summary (TTFT, TPOT, inter-token latency, end-to-end latency, queueing, throughput, goodput,
// KV use); --out writes summary.json and, when asked, CSVs streamed while the simulation runs:
// one row per request (--requests), per token (--tokens), per replica and interval (--timeline).
#include <chrono>
#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include "sim/report/output.hpp"
#include "sim/serving/engine.hpp"
#include "sim/serving/speculative/baseline.hpp"
#include "sim/core/progress.hpp"
#include "tools/kvsim/overrides.hpp"
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

int serve(const ServeOptions& o) {
  ConfigDocument doc = ConfigDocument::load_file(o.scenario.path);
  apply_overrides(doc, o.scenario.overrides);
  const Scenario s = load_scenario(doc);
  refuse_warnings_if_strict(s, o.scenario.strict);
  const auto node = doc.root().find("serving");
  if (!node) throw InputError(s.file, "/serving", "kvsim serve needs a \"serving\" section");
  serving::ServingSetup setup = serving::ServingSetup::from_config(*node, s);
  serving::Workload workload(node->at("workload"), RandomStreams(s.seed), s.model.max_context);

  if ((o.requests || o.tokens || o.timeline) && o.out.empty()) {
    throw InputError("--requests/--tokens/--timeline", "", "these write files: add --out DIR");
  }
  // At least a microsecond (a shorter interval rounds towards 0 ns and would never advance).
  if (!(o.timeline_interval >= 1e-6 && o.timeline_interval <= serving::kMaxArrivalSeconds)) {
    throw InputError("--timeline-interval", "",
                     fmt::format("must be from 1e-06 to {:g} seconds, got {}",
                                 serving::kMaxArrivalSeconds, o.timeline_interval));
  }
  // Opened (and checked) before the simulation; its files are committed together at the end,
  // and removed if the run fails or is interrupted.
  std::optional<report::OutputDirectory> out;
  if (!o.out.empty()) out.emplace(o.out);
  serving::ServingObservers observers;
  if (o.requests) {
    std::FILE* requests = open_csv(*out, "requests.csv",
                                   "id,replica,arrival_s,scheduled_s,first_token_s,completion_s,"
                                   "prompt_tokens,output_tokens,ttft_s,tpot_s,e2e_s,queueing_s,"
                                   "preemptions\n");
    observers.request = [f = requests](const serving::RequestRecord& q) {
      // TPOT is undefined for a single output token: an empty cell.
      const std::string tpot =
          q.output > 1
              ? fmt::format("{:.6f}", (q.completion - q.first_token) /
                                          static_cast<double>(q.output - 1))
              : "";
      fmt::print(f, "{},{},{:.6f},{:.6f},{:.6f},{:.6f},{},{},{:.6f},{},{:.6f},{:.6f},{}\n",
                 q.id, q.replica, q.arrival, q.scheduled, q.first_token, q.completion, q.prompt,
                 q.output, q.first_token - q.arrival, tpot, q.completion - q.arrival,
                 q.scheduled - q.arrival, q.preemptions);
    };
  }
  if (o.tokens) {
    std::FILE* tokens = open_csv(*out, "tokens.csv", "id,token,time_s\n");
    observers.token = [f = tokens](std::uint64_t id, std::int64_t index, double time) {
      fmt::print(f, "{},{},{:.6f}\n", id, index, time);
    };
  }
  if (o.timeline) {
    std::FILE* timeline = open_csv(*out, "timeline.csv",
                                   "time_s,replica,waiting,running,kv_used_tokens,kv_held_tokens,"
                                   "kv_capacity_tokens,kv_utilization,kv_waste\n");
    observers.timeline = [f = timeline](const serving::TimelineSample& t) {
      const double used = static_cast<double>(t.kv_used);
      fmt::print(f, "{:.6f},{},{},{},{},{},{},{:.6f},{:.6f}\n", t.time, t.replica, t.waiting,
                 t.running, t.kv_used, t.kv_held, t.kv_capacity,
                 used / static_cast<double>(t.kv_capacity),
                 t.kv_held > 0 ? 1 - used / static_cast<double>(t.kv_held) : 0.0);
    };
    observers.timeline_interval = from_seconds(o.timeline_interval);
  }

  // Completed requests on a terminal (never in pipes; stdout and files are unchanged). Rejected
  // requests complete nothing, so a run that rejects some ends short of the total.
  Progress progress("kvsim serve: requests", workload.total(), !o.quiet);
  if (progress.enabled()) {
    observers.request = [write = observers.request, &progress,
                         done = std::size_t{0}](const serving::RequestRecord& q) mutable {
      if (write) write(q);
      progress.update(++done);
    };
  }
  const auto start = std::chrono::steady_clock::now();
  const bool speculative = setup.speculation != nullptr;
  serving::ServingResult r = serving::simulate_serving(s, setup, std::move(workload), observers);
  // Speculative decoding's speed-up: the same run without the drafter.
  if (speculative) serving::speculative::add_baseline(s, *node, r.summary);
  progress.finish();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Json& j = r.summary;
  const Json& config = j["config"];
  for (const auto& w : j["warnings"]) fmt::print(stderr, "kvsim: warning: {}\n", w.get<std::string>());
  if (!o.quiet) {
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
    if (speculative) print_speculative(j["speculative"]);
    if (j.contains("disaggregation")) print_disaggregated(j["disaggregation"]);
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
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  cmd->callback([&selected, o] { selected = [o] { return serve(*o); }; });
}

}  // namespace kvsim::cli
