#pragma once
// The state of one disaggregated run (disaggregated_run.hpp): its prefill and decode instances
// and the requests between them. Internal to sim/serving/disaggregation: disaggregated_run.cpp
// (arrivals, prefill, transfers, back-pressure, summary) and decode_pool.cpp (decode batches,
// tokens, completions).

#include <deque>
#include <optional>
#include <vector>

#include "sim/core/event_queue.hpp"
#include "sim/serving/arrival_times.hpp"
#include "sim/serving/communication.hpp"
#include "sim/serving/disaggregation/kv_transfer.hpp"
#include "sim/serving/disaggregation/pools.hpp"
#include "sim/serving/disaggregation/prefill_pricing.hpp"
#include "sim/serving/engine.hpp"
#include "sim/serving/iteration_cost.hpp"

namespace kvsim::serving::disaggregation {

/// A request from its prefill's start until it completes.
struct Flight {
  Request request;
  SimTime scheduled{-1};  // its prefill started
  SimTime first_token{-1};
  SimTime last_token{-1};
  std::int64_t generated = 0;
  int prefill = -1;
  int decode = -1;  // the instance holding its KV reservation
  Duration prefill_time{0};
  KvTransfer transfer;
};

struct PrefillInstance {
  std::deque<Request> queue;
  std::int64_t queued_tokens = 0;   // prompts queued or being prefilled
  std::optional<std::uint32_t> waiting;  // a flight held for decode memory (back-pressure)
  bool computing = false;
  Duration busy{0};
};

struct DecodeInstance {
  std::vector<int> gpus;
  std::int64_t capacity = 0;  // KV tokens
  std::int64_t reserved = 0;
  std::int64_t used = 0;               // KV tokens computed, of requests here
  std::size_t held = 0;                // flights with a reservation here
  std::vector<std::uint32_t> running;  // flights decoding
  std::deque<std::uint32_t> ready;     // KV arrived, waiting for a batch slot
  bool iterating = false;
  Duration busy{0};
};

class DisaggregatedRun {
 public:
  DisaggregatedRun(const Scenario& s, ServingSetup& setup, Workload& workload,
                   const ServingObservers& observers);
  ServingResult run();

 private:
  // disaggregated_run.cpp
  void arrive();
  void send(const Request& r);
  void try_prefill(int instance);
  void start_prefill(int instance, std::uint32_t flight);
  void prefill_done(int instance, std::uint32_t flight);
  bool start_transfer(std::uint32_t flight);
  void retry_waiting();
  std::uint32_t new_flight(const Request& r, int instance);
  Json pools_summary(double span) const;
  ServingResult result() const;

  // decode_pool.cpp
  void kv_arrived(std::uint32_t flight);
  void try_iterate(int instance);
  void iteration_done(int instance);
  void emit(Flight& f, SimTime now);
  void complete(std::uint32_t flight, SimTime now);
  void client_finished();
  void account();  // KV token-seconds up to now, before the decode memory changes

  const Scenario& s_;
  ServingSetup& setup_;
  const Disaggregation& d_;
  Workload& workload_;
  const ServingObservers& observers_;
  EventQueue queue_;
  Totals totals_;
  PrefillPricing pricing_;
  IterationCost cost_;
  Communication communication_;
  ClientLimit client_;
  std::vector<PrefillInstance> prefill_;
  std::vector<DecodeInstance> decode_;
  std::vector<Flight> flights_;
  std::vector<std::uint32_t> free_flights_;
  std::deque<int> waiting_;  // prefill instances held for decode memory, in order
  std::vector<InstanceLoad> loads_;
  IterationShape shape_;
  Request pending_;
  std::optional<Request> first_rejected_, first_truncated_;
  SimTime accounted_{0};
  SimTime first_arrival_{0};
  std::uint64_t arrived_ = 0;
  double kv_bytes_per_token_ = 0;  // all layers and heads
  // Transfers: count, bytes, seconds summed; waits for decode memory: count, seconds summed.
  std::uint64_t transfers_ = 0, waits_ = 0;
  double transfer_bytes_ = 0, transfer_seconds_ = 0, wait_seconds_ = 0;
  std::vector<SimTime> wait_started_;  // per prefill instance
};

}  // namespace kvsim::serving::disaggregation
