#pragma once
// KV-Runahead (Cho, Rastegari, Naik, ICML 2024): p processes in a chain; process i owns c_i
// contiguous tokens (S_i = c_1 + ... + c_i). Per layer it computes its Q, K, V; waits for the
// layer's KV prefix (S_{i-1} tokens) from i-1; appends its own and sends the S_i-token cache to
// i+1 without waiting for the send; computes attention of its c_i queries against S_i keys
// (causal inside its own block); then the rest of the layer. There is no global barrier, so
// early processes run ahead and their messages queue on the link in layer order. Only the last
// process ends with the whole cache and emits the first token.
//
// Per-layer recurrence (the paper's Section 4, in kvsim's terms):
//   D_i(l) = max(D_i(l-1) + qkv_i, A_i(l)) + attention(c_i, S_i) + rest(c_i)
// where A_i(l) is when the layer-l prefix from i-1 has arrived.

#include "sim/prefill/partitioner.hpp"
#include "sim/prefill/prefill_strategy.hpp"

namespace kvsim::prefill {

struct KvrOptions {
  bool send_before_attention = true;  // send the prefix before (true) or after own attention
  bool relay = true;                  // relay chain; false: every process sends its own KV
                                      // directly to every later process
  bool closed_form_network = false;   // price messages in closed form (no contention)
  int tp = 1;                         // GPUs per process (a TP group; sim/prefill/two_level.hpp)
};

/// Event-driven KV-Runahead TTFT for a given partition (one part per process: per TP group of
/// options.tp GPUs).
PrefillResult simulate_kvr(const PrefillSetup& setup, const Partition& partition,
                           const KvrOptions& options, bool record_trace);

/// The same recurrence evaluated directly, messages priced by net::message_time (the
/// point-to-point protocol's fixed cost + latency + ceil(bytes / (efficiency x bottleneck)))
/// queued per channel (exact where no other traffic shares a channel's route). Relay only.
/// With tp > 1 a message has arrived when the slowest of its tp lanes has.
Duration kvr_closed_form_ttft(const PrefillSetup& setup, const Partition& partition,
                              bool send_before_attention, int tp = 1);

/// Whether the closed form is exact for this setup: relay, no background traffic, and the
/// chain's neighbour routes share no link. Returns the reason when not.
std::string closed_form_obstacle(const PrefillSetup& setup, const KvrOptions& options);

class KvrStrategy final : public PrefillStrategy {
 public:
  KvrStrategy(std::unique_ptr<Partitioner> partitioner, KvrOptions options);
  std::string default_label() const override;
  PrefillResult run(const PrefillSetup& setup, bool record_trace) const override;
  /// The partition's plan where the partitioner needs no simulation (even, fixed), else the
  /// least any partition needs.
  MemoryPlan memory_plan(const PrefillSetup& setup) const override;
  MemoryPlan memory_of_run(const PrefillSetup& setup, const PrefillResult& result) const override;
  std::string unsupported(const LlmSpec& model, std::int64_t gpus) const override;
  std::int64_t tensor_parallel(std::int64_t /*gpus*/) const override { return options_.tp; }
  Json to_json() const override;
  /// TTFT of one candidate partition: what the search evaluates.
  Duration evaluate(const PrefillSetup& setup, const Partition& partition) const;
  const KvrOptions& options() const { return options_; }
  const Partitioner& partitioner() const { return *partitioner_; }
  /// The question a partitioner answers for this chain on `setup` (which must outlive it).
  PartitionQuery query(const PrefillSetup& setup) const;

 private:
  std::unique_ptr<Partitioner> partitioner_;
  KvrOptions options_;
};

/// Process i holds the KV of the prefix it received plus its own slice (S_i tokens; the last
/// holds everything), activations for its c_i tokens and, eager, its c_i x S_i scores; with
/// tp > 1 each of its GPUs holds the TP shard of that.
MemoryPlan kvr_memory_plan(const PrefillSetup& setup, const Partition& partition, int tp = 1);

/// Checks a partition against C and p; throws std::invalid_argument when it does not fit.
void check_partition(const Partition& partition, std::int64_t context_tokens, int processes);

}  // namespace kvsim::prefill
