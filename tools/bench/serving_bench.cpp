// Whole serving simulations (issue 20): requests per second of CPU of `kvsim serve` on the
// shipped scenarios, timing only simulate_serving (the scenario, its trace and the serving
// set-up are read outside the timed region, once per run, as kvsim serve reads them once).
//
//   ServeVidurLike10k  scenarios/serving/vidur-splitwise-conv.json: Vidur's Splitwise
//                      conversation workload, 10,000 requests at 4/s on one A100
//   ServeChat64Replicas/N  scenarios/serving/chat-1m-64-replicas.json cut to N requests
//   LoadVidurLikeScenario  what kvsim serve does on that scenario before simulating: read the
//                      scenario (its model, GPU and shipped A100 profile), the serving set-up
//                      and the workload (the trace); the start-up of the whole-process goal
//
// Both read ../shared/data/traces/splitwise_conv.csv; without it they are skipped with an error
// saying so. Results and commands: results/benchmarks.md.
#include <benchmark/benchmark.h>

#include <exception>
#include <optional>
#include <string>

#include "sim/core/config.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/engine.hpp"

namespace {

// The scenario, loaded once; each run builds a fresh set-up and workload (simulate_serving
// consumes both) with the timer paused.
struct ServeFixture {
  std::optional<kvsim::ConfigDocument> doc;
  std::optional<kvsim::Scenario> scenario;
  std::string error;

  ServeFixture(const std::string& file, std::int64_t requests) {
    try {
      doc.emplace(kvsim::ConfigDocument::load_file(std::string(KVSIM_SOURCE_DIR) + "/" + file));
      doc->apply_override("/serving/workload/requests=" + std::to_string(requests));
      scenario.emplace(kvsim::load_scenario(*doc));
    } catch (const std::exception& e) {
      error = e.what();
    }
  }

  // One serving run; returns the simulated events.
  std::uint64_t run(benchmark::State& state) const {
    const kvsim::ConfigNode node = doc->root().at("serving");
    state.PauseTiming();
    kvsim::serving::ServingSetup setup = kvsim::serving::ServingSetup::from_config(node, *scenario);
    kvsim::serving::Workload workload(node.at("workload"), kvsim::RandomStreams(scenario->seed),
                                      scenario->model.max_context);
    state.ResumeTiming();
    const auto result = kvsim::serving::simulate_serving(*scenario, setup, std::move(workload));
    return result.summary["events"].get<std::uint64_t>();
  }
};

void serve(benchmark::State& state, const char* file, std::int64_t requests) {
  const ServeFixture f(file, requests);
  if (!f.error.empty()) {
    state.SkipWithError(("needs ../shared/data (the Splitwise trace): " + f.error).c_str());
    return;
  }
  std::uint64_t events = 0;
  for (auto _ : state) events += f.run(state);
  // Rates over the CPU time of the timed region: requests and events per second of CPU.
  const auto runs = static_cast<double>(state.iterations());
  state.counters["requests/cpu_s"] =
      benchmark::Counter(runs * static_cast<double>(requests), benchmark::Counter::kIsRate);
  state.counters["events/cpu_s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}

void BM_ServeVidurLike10k(benchmark::State& state) {
  serve(state, "scenarios/serving/vidur-splitwise-conv.json", 10'000);
}

void BM_ServeChat64Replicas(benchmark::State& state) {
  serve(state, "scenarios/serving/chat-1m-64-replicas.json", state.range(0));
}

void BM_LoadVidurLikeScenario(benchmark::State& state) {
  const std::string file =
      std::string(KVSIM_SOURCE_DIR) + "/scenarios/serving/vidur-splitwise-conv.json";
  for (auto _ : state) {
    try {
      const kvsim::ConfigDocument doc = kvsim::ConfigDocument::load_file(file);
      const kvsim::Scenario scenario = kvsim::load_scenario(doc);
      const kvsim::ConfigNode node = doc.root().at("serving");
      kvsim::serving::ServingSetup setup =
          kvsim::serving::ServingSetup::from_config(node, scenario);
      kvsim::serving::Workload workload(node.at("workload"), kvsim::RandomStreams(scenario.seed),
                                        scenario.model.max_context);
      benchmark::DoNotOptimize(workload.next());
    } catch (const std::exception& e) {
      state.SkipWithError(("needs ../shared/data (the Splitwise trace): " +
                           std::string(e.what())).c_str());
      return;
    }
  }
}

}  // namespace

BENCHMARK(BM_LoadVidurLikeScenario)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ServeVidurLike10k)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ServeChat64Replicas)->Arg(20'000)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
