#pragma once
// The state of one disaggregated run (disaggregated_run.hpp): its prefill and decode instances
// and the requests between them. Internal to sim/serving/disaggregation: disaggregated_run.cpp
// (arrivals, prefill, transfers, back-pressure), decode_pool.cpp (decode batches, tokens,
// completions), mixed_pool.cpp (Splitwise's mixed pool) and summary.cpp.

#include <deque>
#include <optional>
#include <vector>

#include "sim/core/event_queue.hpp"
#include "sim/serving/arrival_step.hpp"
#include "sim/serving/communication.hpp"
#include "sim/serving/disaggregation/kv_flows.hpp"
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
  Duration prefill_time{0};  // of its batch
  std::int64_t batch_tokens = 0;  // its batch's prompt tokens (its own prompt when alone)
  KvTransfer transfer;
  SimTime transfer_timed_from{0};  // flows: the send (whole) or the prefill's end (layerwise)
};

struct PrefillInstance {
  std::deque<Request> queue;
  std::int64_t queued_tokens = 0;   // prompts queued or being prefilled
  // The batch being prefilled, or held for decode memory (back-pressure) before its prefill
  // (layerwise) or after it (whole); `held` are those of its flights whose transfer has not
  // started yet.
  std::vector<std::uint32_t> batch;
  std::deque<std::uint32_t> held;
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
  SimTime iteration_started{0};  // flows: busy time is added when the iteration ends
  Duration busy{0};
};

class DisaggregatedRun {
 public:
  DisaggregatedRun(const Scenario& s, ServingSetup& setup, Workload& workload,
                   const ServingObservers& observers);
  ServingResult run();

 private:
  // disaggregated_run.cpp
  void check_fits(const Request& r) const;
  void send(const Request& r);
  // prefill_batches.cpp
  void try_prefill(int instance);
  std::int64_t take_batch(int instance);
  void start_prefill(int instance);
  void prefill_done(int instance);
  bool start_held_transfers(PrefillInstance& p);
  void hold(int instance);
  bool start_transfer(std::uint32_t flight);
  std::optional<std::size_t> choose_decode(std::int64_t kv_tokens);
  void send_as_flows(std::uint32_t flight, const std::vector<int>& from,
                     const std::vector<std::int64_t>& shares);
  void kv_landed(std::uint32_t flight);
  void retry_waiting();
  std::uint32_t new_flight(const Request& r, int instance);

  // mixed_pool.cpp (Splitwise's mixed pool, pools.hpp)
  enum class Role { kIdle, kPrefill, kDecode };
  bool in_prefill_pool(std::size_t instance) const;
  bool in_decode_pool(std::size_t instance) const;
  std::optional<std::size_t> lend_to_prefill();  // after send() filled loads_
  std::optional<std::size_t> lend_to_decode();
  void return_to_mixed_pool_from_prefill(std::size_t instance);
  void return_to_mixed_pool_from_decode(std::size_t instance);
  Json mixed_summary(double span) const;
  Json pools_summary(double span) const;
  ServingResult result() const;

  // decode_pool.cpp
  void kv_arrived(std::uint32_t flight);
  void try_iterate(int instance);
  void iteration_done(int instance);
  void emit(Flight& f, SimTime now);
  void complete(std::uint32_t flight, SimTime now);
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
  std::optional<KvFlows> kv_flows_;  // "flows": KV transfers on communication_'s network
  ArrivalStep arrivals_;
  std::vector<PrefillInstance> prefill_;
  std::vector<DecodeInstance> decode_;
  std::vector<Flight> flights_;
  std::vector<std::uint32_t> free_flights_;
  std::deque<int> waiting_;  // prefill instances held for decode memory, in order
  std::vector<InstanceLoad> loads_;
  std::vector<std::size_t> candidates_;  // the instances loads_ describes, in order
  IterationShape shape_;
  SimTime accounted_{0};
  double kv_bytes_per_token_ = 0;  // all layers and heads
  // Transfers: count, bytes, seconds summed; waits for decode memory: count, seconds summed.
  std::uint64_t transfers_ = 0, waits_ = 0;
  double transfer_bytes_ = 0, transfer_seconds_ = 0, wait_seconds_ = 0;
  double closed_form_seconds_ = 0;  // flows: the transfers' closed-form times, summed
  std::vector<SimTime> wait_started_;  // per prefill instance
  // The mixed pool: each mixed instance's role now (prefill_[P + m] and decode_[D + m] are its
  // two sides), and how often one was lent to each pool.
  std::vector<Role> mixed_;
  std::uint64_t lent_to_prefill_ = 0, lent_to_decode_ = 0;
};

}  // namespace kvsim::serving::disaggregation
