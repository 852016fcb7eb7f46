// A disaggregated run's summary: simulate_serving's aggregates (TTFT as disaggregated_run.hpp
// defines it), and "disaggregation": per pool its GPU type, GPUs and busy fraction, the KV
// transfers, the waits for decode memory, and the cost: per pool GPUs x price per GPU-hour
// (pools.hpp), in total, per million output tokens and as good requests per dollar over the
// run's span (first arrival to last completion, every GPU paid for all of it).
#include <fmt/format.h>

#include "sim/serving/disaggregation/run_state.hpp"

namespace kvsim::serving::disaggregation {
namespace {

Json pool_cost(const PoolGpu& h, int gpus) {
  return Json{{"gpu", h.gpu.name},
              {"gpus", gpus},
              {"usd_per_gpu_hour", *h.usd_per_gpu_hour},
              {"usd", gpus * *h.usd_per_gpu_hour},
              {"price_source", h.price_source}};
}

// Null when a pool's GPU has no price (the run's warnings say which and how to give one).
Json cost_per_hour(const Disaggregation& d) {
  if (!d.prefill.hardware.usd_per_gpu_hour || !d.decode.hardware.usd_per_gpu_hour) return nullptr;
  Json prefill = pool_cost(d.prefill.hardware, d.prefill.instances * d.prefill.gpus);
  Json decode = pool_cost(d.decode.hardware, d.decode.instances * d.decode.tensor_parallel);
  double usd = prefill["usd"].get<double>() + decode["usd"].get<double>();
  Json out{{"prefill", std::move(prefill)}, {"decode", std::move(decode)}};
  if (d.mixed.instances > 0) {  // on the decode pool's GPU type (pools.cpp refuses two types)
    out["mixed"] = pool_cost(d.decode.hardware, d.mixed.instances * d.prefill.gpus);
    usd += out["mixed"]["usd"].get<double>();
  }
  out["usd"] = usd;
  return out;
}

// The run's cost over its span: per million output tokens and good requests per dollar.
void add_run_cost(Json& out, const Json& cost, double span, const Totals& t) {
  const double usd = cost.is_null() ? 0.0 : cost["usd"].get<double>() * span / 3600.0;
  out["usd_per_million_output_tokens"] =
      usd > 0 && t.output_tokens > 0 ? Json(usd / static_cast<double>(t.output_tokens) * 1e6)
                                     : Json(nullptr);
  out["good_requests_per_usd"] =
      usd > 0 ? Json(static_cast<double>(t.good) / usd) : Json(nullptr);
}

std::string missing_price(const PoolGpu& h, const char* pool) {
  return fmt::format("no cost stated (cost_per_hour is null): kvsim has no default price for "
                     "the {} pool's {}; give /serving/disaggregation/{}/price_per_gpu_hour "
                     "(US dollars)",
                     pool, h.gpu.name, pool);
}

}  // namespace

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
        {"gpu", d_.prefill.hardware.gpu.name},
        {"gpus", prefill_gpus},
        {"strategy", d_.prefill.strategy->label()},
        {"busy_fraction", fraction(prefill_busy, d_.prefill.instances)},
        {"strategy_runs", pricing_.strategy_runs()}}},
      {"decode",
       {{"instances", d_.decode.instances},
        {"gpu", d_.decode.hardware.gpu.name},
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
      {"cost_per_hour", cost_per_hour(d_)}};
}

ServingResult DisaggregatedRun::result() const {
  Totals t = totals_;
  for (const DecodeInstance& d : decode_) t.busy_seconds += to_seconds(d.busy);
  const double span = to_seconds(queue_.now() - arrivals_.first_arrival());
  ServingResult out;
  // Busy time and KV area add up every decode slot, the mixed instances' included: so does the
  // count they are divided by.
  const int slots = static_cast<int>(decode_.size());
  out.summary = t.summary({span, slots, 1, decode_.front().capacity, 0, 0, queue_.executed()});
  out.summary["config"] = setup_.resolved;
  out.summary["disaggregation"] = pools_summary(span);
  add_run_cost(out.summary["disaggregation"], out.summary["disaggregation"]["cost_per_hour"],
               span, totals_);
  if (d_.mixed.instances > 0) out.summary["disaggregation"]["mixed"] = mixed_summary(span);
  Json warnings = arrivals_.warnings();
  for (const std::string& w : d_.warnings) warnings.push_back(w);
  if (!d_.prefill.hardware.usd_per_gpu_hour) {
    warnings.push_back(missing_price(d_.prefill.hardware, "prefill"));
  }
  if (!d_.decode.hardware.usd_per_gpu_hour) {
    warnings.push_back(missing_price(d_.decode.hardware, "decode"));
  }
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
