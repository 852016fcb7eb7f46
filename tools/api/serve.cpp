// kvsim serve's computation (see api.hpp): the serving section checked, simulated, summarised;
// and the rows of requests.csv and timeline.csv.
#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/report/trace.hpp"
#include "sim/serving/speculative/baseline.hpp"
#include "tools/api/api.hpp"
#include "tools/api/vllm_bench.hpp"

namespace kvsim::api {

ServeOutcome serve(const ConfigDocument& doc, const ServeRequest& request,
                   const ObserversFor& observers) {
  ServeOutcome x(read_scenario(doc, request.strict));
  const Scenario& s = x.scenario;
  const auto node = doc.root().find("serving");
  if (!node) throw InputError(s.file, "/serving", "kvsim serve needs a \"serving\" section");
  serving::ServingSetup setup = serving::ServingSetup::from_config(*node, s);
  serving::Workload workload(node->at("workload"), RandomStreams(s.seed), s.model.max_context);
  const std::uint64_t prompts = workload.total();
  VllmBench vllm(request.save_detailed);
  const serving::ServingObservers attached =
      vllm.attach(observers ? observers(s, workload) : serving::ServingObservers{});
  const bool speculative = setup.speculation != nullptr;
  x.summary = serving::simulate_serving(s, setup, std::move(workload), attached).summary;
  vllm.complete(x.summary, s, setup, *node, prompts);
  // Speculative decoding's speed-up: the same run without the drafter.
  if (speculative) serving::speculative::add_baseline(s, *node, x.summary);
  return x;
}

report::ServingTraceBounds trace_bounds(const TraceOptions& options) {
  report::ServingTraceBounds bounds{.requests = options.requests,
                                    .limit_bytes = report::parse_trace_limit(options.limit)};
  if (!options.window.empty()) report::parse_trace_window(options.window, bounds);
  return bounds;
}

const char* const kRequestsHeader =
    "id,replica,arrival_s,scheduled_s,first_token_s,completion_s,prompt_tokens,output_tokens,"
    "ttft_s,tpot_s,e2e_s,queueing_s,preemptions\n";

std::string request_row(const serving::RequestRecord& q) {
  // TPOT is undefined for a single output token: an empty cell.
  const std::string tpot =
      q.output > 1 ? fmt::format("{:.6f}", (q.completion - q.first_token) /
                                               static_cast<double>(q.output - 1))
                   : "";
  return fmt::format("{},{},{:.6f},{:.6f},{:.6f},{:.6f},{},{},{:.6f},{},{:.6f},{:.6f},{}\n", q.id,
                     q.replica, q.arrival, q.scheduled, q.first_token, q.completion, q.prompt,
                     q.output, q.first_token - q.arrival, tpot, q.completion - q.arrival,
                     q.scheduled - q.arrival, q.preemptions);
}

const char* const kTimelineHeader =
    "time_s,replica,waiting,running,kv_used_tokens,kv_held_tokens,kv_capacity_tokens,"
    "kv_utilization,kv_waste\n";

std::string timeline_row(const serving::TimelineSample& t) {
  const double used = static_cast<double>(t.kv_used);
  return fmt::format("{:.6f},{},{},{},{},{},{},{:.6f},{:.6f}\n", t.time, t.replica, t.waiting,
                     t.running, t.kv_used, t.kv_held, t.kv_capacity,
                     used / static_cast<double>(t.kv_capacity),
                     t.kv_held > 0 ? 1 - used / static_cast<double>(t.kv_held) : 0.0);
}

}  // namespace kvsim::api
