// A disaggregated run's summary: simulate_serving's aggregates (TTFT as disaggregated_run.hpp
// defines it), and "disaggregation": per pool its GPUs and busy fraction, the KV transfers,
// and the waits for decode memory.
#include <fmt/format.h>

#include "sim/serving/disaggregation/run_state.hpp"

namespace kvsim::serving::disaggregation {

inline constexpr const char* kTtftDefinition =
    "arrival to the whole prompt's KV cache at the decode instance: queueing + prefill + KV "
    "transfer (layerwise: its part not overlapping the prefill) + any wait for decode memory";

Json DisaggregatedRun::pools_summary(double span) const {
  Duration prefill_busy{0}, decode_busy{0};
  // The pools' own instances (the mixed pool's are in mixed_summary).
  for (int i = 0; i < d_.prefill.instances; ++i) prefill_busy += prefill_[i].busy;
  for (int j = 0; j < d_.decode.instances; ++j) decode_busy += decode_[j].busy;
  const auto fraction = [span](Duration busy, int instances) {
    return span > 0 ? to_seconds(busy) / (span * instances) : 0.0;
  };
  const int prefill_gpus = d_.prefill.instances * d_.prefill.gpus;
  const int decode_gpus = d_.decode.instances * d_.decode.tensor_parallel;
  const int mixed_gpus = d_.mixed.instances * d_.prefill.gpus;
  const double goodput = span > 0 ? static_cast<double>(totals_.good) / span : 0.0;
  return Json{
      {"ttft_definition", kTtftDefinition},
      {"prefill",
       {{"instances", d_.prefill.instances},
        {"gpus", prefill_gpus},
        {"strategy", d_.prefill.strategy->label()},
        {"busy_fraction", fraction(prefill_busy, d_.prefill.instances)},
        {"strategy_runs", pricing_.strategy_runs()}}},
      {"decode",
       {{"instances", d_.decode.instances},
        {"gpus", decode_gpus},
        {"busy_fraction", fraction(decode_busy, d_.decode.instances)},
        {"kv_capacity_tokens_per_instance", decode_.front().capacity}}},
      {"kv_transfer",
       {{"count", transfers_},
        {"bytes", transfer_bytes_},
        {"seconds", transfer_seconds_},
        {"mean_s", transfers_ > 0 ? transfer_seconds_ / static_cast<double>(transfers_) : 0.0}}},
      {"decode_memory_waits", {{"count", waits_}, {"seconds", wait_seconds_}}},
      {"goodput_per_gpu", goodput / (prefill_gpus + decode_gpus + mixed_gpus)},
      // No GPU prices in the catalog yet: cost per hour is stated as GPUs per pool.
      {"cost_per_hour", nullptr}};
}

ServingResult DisaggregatedRun::result() const {
  Totals t = totals_;
  for (const DecodeInstance& d : decode_) t.busy_seconds += to_seconds(d.busy);
  const double span = to_seconds(queue_.now() - arrivals_.first_arrival());
  ServingResult out;
  out.summary = t.summary({span, d_.decode.instances, 1, decode_.front().capacity, 0, 0,
                           queue_.executed()});
  out.summary["config"] = setup_.resolved;
  out.summary["disaggregation"] = pools_summary(span);
  if (d_.mixed.instances > 0) out.summary["disaggregation"]["mixed"] = mixed_summary(span);
  Json warnings = arrivals_.warnings();
  if (d_.prefill.bucket > 1) {
    warnings.push_back(fmt::format(
        "prefill times are priced at prompts rounded up to /serving/disaggregation/prefill/"
        "bucket ({} tokens): TTFT is overstated by up to one bucket's prefill",
        d_.prefill.bucket));
  }
  out.summary["warnings"] = warnings;
  return out;
}

ServingResult simulate_disaggregated(const Scenario& s, ServingSetup& setup, Workload workload,
                                     const ServingObservers& observers) {
  if (observers.timeline) {
    throw InputError("--timeline", "",
                     "the per-replica timeline is not written for disaggregated serving yet "
                     "(its rows are colocated replicas'); leave out --timeline");
  }
  return DisaggregatedRun(s, setup, workload, observers).run();
}

}  // namespace kvsim::serving::disaggregation
