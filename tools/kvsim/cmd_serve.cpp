// `kvsim serve SCENARIO`: the serving simulation of the scenario's "serving" section. Prints the
// summary (TTFT, TPOT, end-to-end latency, queueing, throughput, goodput, KV use); --out writes
// summary.json and, with --requests, a per-request CSV streamed as requests finish.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "sim/report/output.hpp"
#include "sim/serving/engine.hpp"
#include "tools/kvsim/scenario_loading.hpp"

namespace kvsim::cli {
namespace {

struct ServeOptions {
  ScenarioOptions scenario;
  std::string out;
  bool requests = false;
  bool quiet = false;
};

void print_latency(const char* name, const Json& j) {
  fmt::print("  {:<16} mean {:>9.2f}  p50 {:>9.2f}  p90 {:>9.2f}  p99 {:>9.2f} ms\n", name,
             1e3 * j["mean_s"].get<double>(), 1e3 * j["p50_s"].get<double>(),
             1e3 * j["p90_s"].get<double>(), 1e3 * j["p99_s"].get<double>());
}

int serve(const ServeOptions& o) {
  ConfigDocument doc = ConfigDocument::load_file(o.scenario.path);
  for (const auto& s : o.scenario.overrides) doc.apply_override(s);
  const Scenario s = load_scenario(doc);
  const auto node = doc.root().find("serving");
  if (!node) throw InputError(s.file, "/serving", "kvsim serve needs a \"serving\" section");
  const serving::ServingConfig config = serving::ServingConfig::from_config(*node);
  serving::Workload workload(node->at("workload"), RandomStreams(s.seed), s.model.max_context);
  node->finish();

  // The per-request CSV is streamed to a temporary file and renamed at the end.
  std::FILE* csv = nullptr;
  std::string csv_path;
  if (o.requests) {
    if (o.out.empty()) throw InputError("--requests", "", "--requests needs --out DIR");
    std::filesystem::create_directories(o.out);
    csv_path = (std::filesystem::path(o.out) / "requests.csv").string();
    csv = std::fopen((csv_path + ".tmp").c_str(), "w");
    if (csv == nullptr) throw std::runtime_error("cannot write " + csv_path);
    std::fputs("id,arrival_s,scheduled_s,first_token_s,completion_s,prompt_tokens,output_tokens,"
               "ttft_s,preemptions\n", csv);
  }
  const auto start = std::chrono::steady_clock::now();
  serving::ServingResult r;
  try {
    r = serving::simulate_serving(s, config, std::move(workload),
                                  [csv](const serving::RequestRecord& q) {
                                    if (csv == nullptr) return;
                                    fmt::print(csv, "{},{:.6f},{:.6f},{:.6f},{:.6f},{},{},{:.6f},{}\n",
                                               q.id, q.arrival, q.scheduled, q.first_token,
                                               q.completion, q.prompt, q.output,
                                               q.first_token - q.arrival, q.preemptions);
                                  });
  } catch (...) {
    if (csv != nullptr) {
      std::fclose(csv);
      std::remove((csv_path + ".tmp").c_str());
    }
    throw;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (csv != nullptr) {
    std::fclose(csv);
    std::filesystem::rename(csv_path + ".tmp", csv_path);
  }
  const Json& j = r.summary;
  if (!o.quiet) {
    fmt::print("kvsim serve: {} ({}), {} on {} replica(s) of {}\n", s.name, s.file,
               config.scheduler, config.replicas, s.gpu.name);
    fmt::print("  {} requests over {:.1f} s simulated ({:.3f} s wall, {} events)\n",
               j["requests"].get<std::uint64_t>(), j["duration_s"].get<double>(), wall,
               j["events"].get<std::uint64_t>());
    print_latency("TTFT", j["ttft"]);
    print_latency("TPOT", j["tpot"]);
    print_latency("end-to-end", j["e2e_latency"]);
    print_latency("queueing", j["queueing_delay"]);
    fmt::print("  throughput {:.2f} requests/s, {:.0f} output tokens/s; goodput {:.2f} requests/s\n",
               j["request_throughput"].get<double>(), j["output_throughput"].get<double>(),
               j["goodput"].get<double>());
    fmt::print("  KV: {} tokens per replica, {:.1f}% used on average, {:.1f}% of held memory "
               "wasted; {} preemptions; GPU busy {:.1f}%\n",
               j["kv_capacity_tokens_per_replica"].get<std::int64_t>(),
               100 * j["kv_utilization"].get<double>(), 100 * j["kv_waste"].get<double>(),
               j["preemptions"].get<std::uint64_t>(), 100 * j["gpu_busy_fraction"].get<double>());
  }
  if (!o.out.empty()) {
    report::write_output(o.out, {{"summary.json", j.dump(2) + "\n"},
                                 {"scenario.resolved.json", s.resolved.dump(2) + "\n"}});
  }
  return 0;
}

}  // namespace

void add_serve(CLI::App& app, Command& selected) {
  CLI::App* cmd = app.add_subcommand("serve", "Simulate serving traffic: the scenario's "
                                              "\"serving\" section");
  auto o = std::make_shared<ServeOptions>();
  add_scenario_options(*cmd, o->scenario);
  cmd->add_option("--out", o->out, "write summary.json (and requests.csv) here");
  cmd->add_flag("--requests", o->requests, "also write requests.csv, one row per request");
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  cmd->callback([&selected, o] { selected = [o] { return serve(*o); }; });
}

}  // namespace kvsim::cli
