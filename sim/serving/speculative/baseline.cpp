#include "sim/serving/speculative/baseline.hpp"

#include "sim/serving/engine.hpp"

namespace kvsim::serving::speculative {
namespace {

// a / b, or null where either is undefined or b is 0.
Json ratio(const Json& a, const Json& b) {
  if (!a.is_number() || !b.is_number() || b.get<double>() == 0) return nullptr;
  return a.get<double>() / b.get<double>();
}

}  // namespace

void add_baseline(const Scenario& s, const ConfigNode& serving, Json& summary) {
  Json plain = serving.json();
  plain.erase("drafter");
  const ConfigNode node(&plain, serving.file(), Json::json_pointer(serving.pointer()));
  ServingSetup setup = ServingSetup::from_config(node, s);
  Workload workload(node.at("workload"), RandomStreams(s.seed), s.model.max_context);
  const Json base = simulate_serving(s, setup, std::move(workload)).summary;
  Json& spec = summary["speculative"];
  Json& b = spec["baseline"];
  for (const char* key : {"tpot", "itl", "e2e_latency"}) {
    b[key] = {{"mean_s", base[key]["mean_s"]}, {"p50_s", base[key]["p50_s"]},
              {"p99_s", base[key]["p99_s"]}};
  }
  b["output_throughput"] = base["output_throughput"];
  b["duration_s"] = base["duration_s"];
  spec["speedup"] = {
      {"tpot_mean", ratio(base["tpot"]["mean_s"], summary["tpot"]["mean_s"])},
      {"tpot_p50", ratio(base["tpot"]["p50_s"], summary["tpot"]["p50_s"])},
      {"tpot_p99", ratio(base["tpot"]["p99_s"], summary["tpot"]["p99_s"])},
      {"e2e_mean", ratio(base["e2e_latency"]["mean_s"], summary["e2e_latency"]["mean_s"])},
      {"output_throughput", ratio(summary["output_throughput"], base["output_throughput"])}};
}

}  // namespace kvsim::serving::speculative
