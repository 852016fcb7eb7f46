#pragma once
// The prefill-strategy slot: time to first token (TTFT) of one prompt spread over GPUs.
//
// A strategy turns (model, context length, GPUs, topology, cost model) into kernels on per-GPU
// compute streams and flows on the network, runs them on a fresh event queue, and reports TTFT
// (until the last token's logits are sampled) with per-GPU and per-link detail. run() must be
// deterministic and must not keep state between calls: the partition search calls it in
// parallel from many threads. memory_plan() says what each GPU holds at the peak (the scenario
// loader checks it against HBM, so run() never meets a setup that does not fit).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/compute/compute_model.hpp"
#include "models/engine/engine_model.hpp"
#include "models/llm/operations.hpp"
#include "sim/core/random.hpp"
#include "sim/network/collectives.hpp"
#include "sim/network/heterogeneity.hpp"
#include "sim/prefill/memory_plan.hpp"

namespace kvsim::prefill {

/// Everything a strategy needs; owned by the caller, shared read-only between runs.
struct PrefillSetup {
  const LlmSpec* model = nullptr;
  const ComputeModel* compute = nullptr;
  const EngineModel* engine = &EngineModel::kernels_only();  // host, launch, fusion, all-reduce
  std::string gpu_name;               // the device the compute model describes
  DecomposeOptions options;           // precision and attention implementation
  std::int64_t context_tokens = 0;
  std::vector<int> gpus;              // GPU indices in chain order
  const net::Topology* topology = nullptr;
  net::CollectiveConfig collectives;
  std::vector<net::BackgroundFlowSpec> background;
  std::uint64_t seed = 1;
  // Usable HBM per GPU: KV-Runahead partitioners choose only partitions that fit it. Unset
  // (unit tests of timing alone): partitions are not checked against memory.
  std::optional<MemoryCapacity> memory;
};

struct GpuTime {
  Duration busy{0};     // computing
  Duration waiting{0};  // between its first and last kernel, blocked on data
  Duration idle{0};     // before its first or after its last kernel, until TTFT
};

/// One slice of the timeline (a kernel group on a GPU, a message or collective, or a flow on a
/// link). Slices on one track may overlap (flows share a link); the trace writer lays them out.
struct TraceSlice {
  std::string track;  // "gpu3", "network" or "link gpu0->nvswitch"
  std::string name;   // "L12 attention"
  SimTime start{0};
  SimTime end{0};
  int from = -1;  // a point-to-point message: the sending process (track "gpu<from>")
  int to = -1;    // ... and the receiving one
};

struct PrefillResult {
  std::string label;
  Duration ttft{0};
  std::vector<GpuTime> gpus;
  std::vector<double> link_bytes;    // per link id
  Duration critical_compute{0};      // compute on the critical path
  Duration critical_communication{0};  // the rest of the critical path
  std::vector<std::int64_t> partition;  // tokens per process (empty if not partitioned)
  std::uint64_t events = 0;
  std::vector<TraceSlice> trace;     // filled only when asked
};

class PrefillStrategy {
 public:
  virtual ~PrefillStrategy() = default;
  /// What the reports call this entry: the scenario's "label" when it gives one, else the
  /// default ("tsp", "kvr/even", ...).
  std::string label() const { return label_.empty() ? default_label() : label_; }
  void set_label(std::string label) { label_ = std::move(label); }
  virtual std::string default_label() const = 0;
  virtual PrefillResult run(const PrefillSetup& setup, bool record_trace) const = 0;
  /// What each GPU holds at the peak of this prefill (weights share, KV cache at the end,
  /// activations), known before running. Where the token split is chosen by simulation (a
  /// searched KV-Runahead partition) it is the least any split needs (lower_bound).
  virtual MemoryPlan memory_plan(const PrefillSetup& setup) const = 0;
  /// The plan of a finished run (KV-Runahead: of the partition it chose).
  virtual MemoryPlan memory_of_run(const PrefillSetup& setup,
                                   const PrefillResult& /*result*/) const {
    return memory_plan(setup);
  }
  /// Why the strategy cannot run `model` on `gpus` GPUs; empty when it can. The scenario
  /// loader reports it as an input error, so run() never meets such a setup.
  virtual std::string unsupported(const LlmSpec& /*model*/, std::int64_t /*gpus*/) const {
    return {};
  }
  /// How many GPUs share each layer's weights (Megatron tp); 1 where every GPU runs whole
  /// layers on a share of the tokens (single, TSP, KV-Runahead).
  virtual std::int64_t tensor_parallel(std::int64_t /*gpus*/) const { return 1; }
  /// Over how many GPUs a MoE model's routed experts are split (each GPU holds and computes
  /// only its share); 1 where every GPU holds every expert.
  virtual std::int64_t expert_parallel(std::int64_t /*gpus*/) const { return 1; }
  /// The resolved parameters, for the resolved scenario.
  virtual Json to_json() const = 0;

 private:
  std::string label_;
};

}  // namespace kvsim::prefill
