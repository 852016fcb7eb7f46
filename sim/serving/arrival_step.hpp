#pragma once
// The arrival step both serving runs share: simulate_serving's colocated replicas (engine.cpp)
// and the disaggregated run (disaggregation/disaggregated_run.cpp). One arrival is pending at a
// time: when it arrives the next is drawn from the workload and scheduled, so the workload is
// never held in memory. Then the request is counted if truncated, rejected if its prompt +
// output exceeds the model's context (as vLLM answers it with an error: it never reaches an
// instance nor holds a closed-loop client's slot), checked by the run (`check`, which may throw
// InputError), and held by the closed-loop client or sent (`send`).
//
// Who calls it: the two runs, which own it beside their event queue and totals; start() once,
// client_finished() on each completion, check_all_served() and warnings() at the end.
// Single-threaded; times are the event queue's.

#include <cstdint>
#include <functional>
#include <optional>

#include "sim/core/event_queue.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/arrival_times.hpp"
#include "sim/serving/metrics.hpp"
#include "sim/serving/workload.hpp"

namespace kvsim::serving {

class ArrivalStep {
 public:
  using Handler = std::function<void(const Request&)>;

  /// `send` takes each request the client lets through (at its arrival, or when a completion
  /// frees a slot); `check`, if given, sees each request within the context first.
  ArrivalStep(const Scenario& s, Workload& workload, EventQueue& queue, Totals& totals,
              Handler send, Handler check = {});

  /// Schedules the first arrival (none for an empty workload).
  void start();
  /// A request completed: the client's oldest held request, if any, is sent now.
  void client_finished();
  /// Every request arrived and was completed or rejected; throws std::logic_error otherwise.
  void check_all_served() const;
  /// The scenario's warnings, then the requests the run did not serve as asked.
  Json warnings() const;
  SimTime first_arrival() const { return first_arrival_; }

 private:
  void arrive();
  void send(const Request& r);

  const Scenario& s_;
  Workload& workload_;
  EventQueue& queue_;
  Totals& totals_;
  Handler send_, check_;
  ClientLimit client_;
  Request pending_;
  std::uint64_t arrived_ = 0;
  std::optional<Request> first_rejected_, first_truncated_;
  SimTime first_arrival_{0};
};

}  // namespace kvsim::serving
