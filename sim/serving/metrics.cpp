#include "sim/serving/metrics.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>

namespace kvsim::serving {

// The middle of bin b (1 <= b < kBins - 1): halfway between its edges.
double LatencyHistogram::middle_of(std::size_t bin) {
  const std::uint64_t key = kLowKey + bin - 1;
  const double low = std::bit_cast<double>(key << kShift);
  const double high = std::bit_cast<double>((key + 1) << kShift);
  return 0.5 * (low + high);
}

void LatencyHistogram::not_a_latency(double seconds) {
  throw std::logic_error("latency histogram: not a latency: " + std::to_string(seconds));
}

LatencyHistogram::LatencyHistogram() : bins_(kBins, 0) {}

double LatencyHistogram::stddev() const {
  if (count_ == 0) return 0;
  const double n = static_cast<double>(count_);
  const double m = sum_ / n;
  return std::sqrt(std::max(0.0, sum_squares_ / n - m * m));  // rounding may go below 0
}

double LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b + 1 < bins_.size(); ++b) {
    seen += bins_[b];
    if (seen >= rank && bins_[b] > 0) return b == 0 ? 0.0 : std::min(max_, middle_of(b));
  }
  return max_;
}

Json LatencyHistogram::to_json() const {
  if (count_ == 0) {
    return Json{{"mean_s", nullptr}, {"p50_s", nullptr}, {"p90_s", nullptr},
                {"p99_s", nullptr},  {"max_s", nullptr}, {"count", 0}};
  }
  return Json{{"mean_s", mean()},
              {"p50_s", quantile(0.5)},
              {"p90_s", quantile(0.9)},
              {"p99_s", quantile(0.99)},
              {"max_s", max_},
              {"count", count_}};
}

Json Totals::summary(const RunShape& run) const {
  const double span = run.span;
  const auto per_s = [&](double v) { return span > 0 ? v / span : 0.0; };
  const double capacity = static_cast<double>(run.kv_capacity_per_replica);
  const double replica_seconds = span * static_cast<double>(run.replicas);
  const auto ms = [](const LatencyHistogram& h, const char* stat) -> Json {
    const Json v = h.to_json()[stat];
    return v.is_null() ? v : Json(1e3 * v.get<double>());
  };
  const auto std_ms = [](const LatencyHistogram& h) -> Json {
    return h.count() == 0 ? Json(nullptr) : Json(1e3 * h.stddev());
  };
  return Json{
      {"requests", completed},
      {"rejected", rejected},
      {"truncated", truncated},
      {"duration_s", span},
      {"request_throughput", per_s(static_cast<double>(completed))},
      {"output_throughput", per_s(static_cast<double>(output_tokens))},
      {"ttft", ttft.to_json()},
      {"tpot", tpot.to_json()},
      {"itl", itl.to_json()},
      {"e2e_latency", e2e.to_json()},
      {"queueing_delay", queueing.to_json()},
      {"goodput", per_s(static_cast<double>(good))},
      {"requests_meeting_slo", good},
      {"preemptions", run.preemptions},
      {"swaps", run.swaps},
      {"gpu_busy_fraction",
       replica_seconds > 0 ? busy_seconds / (replica_seconds * run.pipeline_parallel) : 0.0},
      {"kv_capacity_tokens_per_replica", run.kv_capacity_per_replica},
      {"kv_utilization", replica_seconds > 0 ? kv_used_area / (replica_seconds * capacity) : 0.0},
      {"kv_waste", kv_held_area > 0 ? 1 - kv_used_area / kv_held_area : 0.0},
      {"events", run.events},
      // The same quantities under the names `vllm bench serve` writes.
      {"vllm_bench",
       {{"completed", completed},
        {"failed", rejected},
        {"duration", span},
        {"total_input_tokens", input_tokens},
        {"total_output_tokens", output_tokens},
        {"request_throughput", per_s(static_cast<double>(completed))},
        {"output_throughput", per_s(static_cast<double>(output_tokens))},
        {"total_token_throughput",
         per_s(static_cast<double>(input_tokens + output_tokens))},
        {"max_output_tokens_per_s", static_cast<double>(peak_tokens_per_second)},
        {"max_concurrent_requests", max_concurrent_requests()},
        {"mean_ttft_ms", ms(ttft, "mean_s")},
        {"median_ttft_ms", ms(ttft, "p50_s")},
        {"std_ttft_ms", std_ms(ttft)},
        {"p99_ttft_ms", ms(ttft, "p99_s")},
        {"mean_tpot_ms", ms(tpot, "mean_s")},
        {"median_tpot_ms", ms(tpot, "p50_s")},
        {"std_tpot_ms", std_ms(tpot)},
        {"p99_tpot_ms", ms(tpot, "p99_s")},
        {"mean_itl_ms", ms(itl, "mean_s")},
        {"median_itl_ms", ms(itl, "p50_s")},
        {"std_itl_ms", std_ms(itl)},
        {"p99_itl_ms", ms(itl, "p99_s")},
        {"mean_e2el_ms", ms(e2e, "mean_s")},
        {"median_e2el_ms", ms(e2e, "p50_s")},
        {"std_e2el_ms", std_ms(e2e)},
        {"p99_e2el_ms", ms(e2e, "p99_s")}}}};
}

}  // namespace kvsim::serving
