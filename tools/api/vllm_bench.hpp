#pragma once
// summary.json's "vllm_bench" block completed to every field `vllm bench serve --save-result
// --save-detailed` writes (vLLM's vllm/benchmarks/serve.py: main_async's result_json, the
// benchmark() result dict and calculate_metrics()), so that a vLLM dashboard reads kvsim's
// summary and `kvsim compare` reads it back as a measurement.
//
// The engine's summary (sim/serving/metrics.cpp) holds the aggregates, std_{ttft,tpot,itl,
// e2el}_ms (numpy's population np.std), max_output_tokens_per_s (per whole second of simulated
// time from time 0, where vLLM counts from its first request's send time) and
// max_concurrent_requests (the same seconds); this adds request_goodput (null without an SLO,
// as vLLM's without --goodput), the setup keys (backend "kvsim", label, model_id, num_prompts,
// request_rate, burstiness, max_concurrency; date null: a simulated run has no date and its
// output is byte-identical run to run) and, with `detailed` (--save-detailed), the per-request
// arrays of the completed requests in id order, observed while the simulation runs
// (input_lens, output_lens, ttfts, itls, errors, generated_texts: "" as kvsim generates no
// text; and latencies and start_times, which kvsim compare also reads). Who calls it:
// api::serve. Times in the arrays are seconds, as vLLM's.

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::api {

class VllmBench {
 public:
  explicit VllmBench(bool detailed) : detailed_(detailed) {}
  VllmBench(const VllmBench&) = delete;
  VllmBench& operator=(const VllmBench&) = delete;

  /// `observers` with, when `detailed`, this one's request and token observers added after
  /// theirs (each request's inter-token gaps and times).
  serving::ServingObservers attach(serving::ServingObservers observers);
  /// Adds the fields to summary["vllm_bench"]; `serving` is the scenario's "serving" section.
  void complete(Json& summary, const Scenario& s, const serving::ServingSetup& setup,
                const ConfigNode& serving, std::uint64_t prompts) const;

 private:
  struct Detail {  // one completed request, for --save-detailed
    std::uint64_t id;
    std::int64_t prompt, output;
    double ttft, latency, start;
    std::vector<double> itls;
  };
  void token(std::uint64_t id, double time);
  void request(const serving::RequestRecord& q);
  Json detailed_arrays() const;

  bool detailed_;
  std::unordered_map<std::uint64_t, double> last_token_;  // with detailed_: in flight
  std::unordered_map<std::uint64_t, std::vector<double>> itls_;
  std::vector<Detail> details_;
};

}  // namespace kvsim::api
