#pragma once
// The engine model: what a serving engine adds to, or takes from, the kernels of a forward pass.
//
// The compute model (models/compute) prices one kernel on one GPU; a real engine runs those
// kernels from a host loop (scheduling, sampling, Python) with launch gaps between them, fuses
// some of them, uses its own attention kernel and its own all-reduce, and synchronises ranks.
// An EngineModel prices those effects. Who calls it: every place a forward pass is priced
// (sim/prefill/stage_costs.cpp for every prefill strategy, sim/prefill/impl/synchronous.cpp for
// tp's all-reduces and layer sync, sim/serving/iteration_cost.cpp, replica*.cpp and
// communication.hpp for serving and compare), so one engine applies identically everywhere.
//
// Contract: pure and cheap (called in inner loops, from many threads); every continuous
// parameter enters every answer linearly (durations add, attention time is multiplied by
// time_scale), which calibrate-engine's least-squares fit relies on. The default engine
// (kernels-only) changes nothing: every answer is the compute model's, bit for bit.
//
// Units: parameters are integer nanoseconds (Duration) except time_scale (a ratio) and the
// custom all-reduce's bandwidth (bytes/s) and max_bytes (bytes); per-operation answers are
// double seconds, like the compute model's, and pass-level answers Durations.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "models/compute/compute_model.hpp"

namespace kvsim {

/// Whether a pass runs any prompt tokens: a pure-decode pass may be replayed from a CUDA graph.
enum class PassKind { kWithPrefill, kPureDecode };

/// Which elementwise operations run as kernels of their own.
enum class Fusion {
  kNone,         // every operation of the decomposition is a kernel (PyTorch stacks)
  kElementwise,  // norms, rotary, activation and residual adds run inside neighbours (TRT-LLM)
};

/// A small-message all-reduce of the engine's own (one-shot/two-shot over peer memory).
struct CustomAllReduce {
  double max_bytes = 8.0 * 1024 * 1024;  // bytes; larger messages keep NCCL
  std::map<std::int64_t, Duration> latency;  // by GPU count; piecewise linear between them
  double bandwidth = 150e9;                  // bytes/s
};

struct EngineParams {
  std::string type = "kernels-only";  // "kernels-only" or "parametric"
  std::string name;                   // a label for reports (a profile's name by default)
  std::string profile;                // the shipped profile or file it came from, if any
  Duration host_per_pass{0};          // host time of one forward pass
  Duration host_per_sequence{0};      // ... per sequence in the batch
  Duration host_per_token{0};         // ... per new token of the pass
  Duration launch_per_kernel{0};      // GPU-visible gap per kernel launched
  bool decode_cuda_graphs = false;    // a pure-decode pass pays no launch gaps
  Fusion fusion = Fusion::kNone;
  std::string attention_kernel = "flash-attention-2";  // a label
  double attention_time_scale = 1.0;  // factor on the compute model's attention time
  std::optional<CustomAllReduce> all_reduce;  // none: NCCL (the network's collective model)
  Duration tp_layer_sync{0};    // per layer per pass when tensor parallel > 1
  Duration pp_stage_sync{0};    // per pipeline stage hand-off
  // Where the engine and its all-reduce's latency table were read, for refusals at run time.
  std::string source_file;
  std::string pointer;
  std::string latency_pointer;
};

class EngineModel {
 public:
  EngineModel() = default;  // kernels-only
  explicit EngineModel(EngineParams params) : p_(std::move(params)) {}
  /// The default engine (kernels and collectives only), shared.
  static const EngineModel& kernels_only();

  const EngineParams& params() const { return p_; }

  // --- kernel level
  /// True when `op` runs inside a neighbouring kernel: it costs nothing and launches nothing.
  bool fused(const Operation& op) const;
  /// Seconds of one operation as this engine runs it: 0 when fused; else the compute model's
  /// time (attention x time_scale) plus the launch gap (none in a graph-captured decode pass).
  double op_seconds(const ComputeModel& compute, const Operation& op, PassKind pass) const;
  /// op_seconds for an operation that is not fused, given its compute time (compute.cost's
  /// seconds), for a caller that priced it another way (models/compiled/compiled_cost.cpp).
  double kernel_seconds(const Operation& op, double compute_seconds, PassKind pass) const;
  /// Sum of op_seconds over a list, in list order.
  double ops_seconds(const ComputeModel& compute, std::span<const Operation> ops,
                     PassKind pass) const;

  // --- pass level
  /// Host time of one forward pass of `sequences` sequences and `tokens` new tokens.
  Duration host(std::int64_t sequences, std::int64_t tokens) const;
  /// Synchronisation per layer of a pass at `tensor_parallel` ranks (none at 1).
  Duration tp_layer_sync(std::int64_t tensor_parallel) const;
  /// Synchronisation per hand-off from one pipeline stage to the next.
  Duration pp_stage_sync() const { return p_.pp_stage_sync; }

  // --- all-reduce
  /// The custom all-reduce's time for `bytes` over `gpus` GPUs: latency(gpus) + bytes /
  /// bandwidth; nullopt when NCCL carries it (no custom all-reduce, or a larger message).
  std::optional<Duration> custom_all_reduce(double bytes, std::int64_t gpus) const;
  /// Throws InputError (at the latency table) when a custom all-reduce cannot price `gpus`
  /// ranks: outside the listed GPU counts. Scenario and serving set-up call it for each
  /// tensor-parallel degree they will run.
  void check_tensor_parallel(std::int64_t gpus) const;

  /// One line: the engine's name and what it adds.
  std::string describe() const;
  /// The full, resolved engine (every field) for scenario.resolved.json.
  Json to_json() const;

 private:
  EngineParams p_;
};

}  // namespace kvsim
