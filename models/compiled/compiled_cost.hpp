#pragma once
// The compiled cost of a forward pass on one GPU: what serving prices every iteration, resolved
// once per (model, tensor-parallel shard, precision, attention implementation, compute model,
// engine), so that pricing an iteration is arithmetic over its batch's shape.
//
// Who builds it: serving's IterationCost (sim/serving/iteration_cost.hpp), once per replica
// engine, per `kvsim compare` batch run and per decode step. Who calls it: the same, every
// iteration. What it holds:
//   - every operation of a layer but attention (norms, projections, MLP, residual adds) and the
//     embedding, priced per token count into flat tables filled on first use: a calibrated
//     profile interpolates its measured tables per count, so a count is the natural key;
//   - the final norm, LM head and sampling per emitting-row count, likewise;
//   - attention, which depends on each sequence's KV length: built per call as at most six
//     operations on the stack (operations.hpp's AttentionOps) and priced by the compute model,
//     without decomposing the rest of the layer and without allocating. A decode batch's
//     attention that is one fused kernel (full attention, not latent) is patched from a template
//     (decode_attention_template.hpp) and priced by the compute model's decode pricer where it
//     has one (a calibrated profile's decode fit, memoised per launch grid:
//     models/compute/fused_decode_attention.hpp), else by cost().
// The decomposition stays the one source of truth: the tables are filled from prefill_layer and
// model_ends, and attention from the same functions prefill_layer and decode_layer use. Every
// number equals the decomposition's (each operation priced by EngineModel::op_seconds, summed in
// decomposition order) bit for bit; tests/serving/iteration_cost_test.cpp checks it.
// The model, compute model and engine must outlive it. Not thread-safe (tables and the decode
// pricer's memo fill lazily).
// Units: double seconds on one GPU.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <tuple>
#include <vector>

#include "models/compiled/decode_attention_template.hpp"
#include "models/compute/compute_model.hpp"
#include "models/engine/engine_model.hpp"
#include "models/llm/operations.hpp"

namespace kvsim {

/// Seconds of each block of one layer on one GPU: one block (parallel attention, as Falcon: one
/// all-reduce per layer under tensor parallelism) or two (attention, then MLP: two all-reduces).
/// A fixed array, so that pricing an iteration does not allocate.
class LayerBlocks {
 public:
  LayerBlocks() = default;
  explicit LayerBlocks(std::size_t count) : count_(count) {}
  std::size_t size() const { return count_; }
  double& operator[](std::size_t i) { return seconds_[i]; }
  double operator[](std::size_t i) const { return seconds_[i]; }
  const double* begin() const { return seconds_.data(); }
  const double* end() const { return seconds_.data() + count_; }
  bool operator==(const LayerBlocks& other) const;

 private:
  std::array<double, 2> seconds_{};
  std::size_t count_ = 0;
};

class CompiledCost {
 public:
  /// `routed_experts` false leaves a MoE layer's routed experts out of the layer (data-parallel
  /// attention prices them over every rank's tokens: sim/serving/dp_attention.hpp).
  CompiledCost(const LlmSpec& model, const DecomposeOptions& options,
               const ComputeModel& compute, const EngineModel& engine,
               bool routed_experts = true);

  /// Every operation of a layer except attention over `tokens` rows, per block, and the
  /// embedding of `tokens` tokens.
  struct Linear {
    LayerBlocks blocks;
    double embedding = 0;
    bool priced = false;  // table entry filled
  };
  const Linear& linear(std::int64_t tokens, PassKind pass);
  /// Final norm, LM head and sampling over `rows` rows.
  double head(std::int64_t rows, PassKind pass);
  /// Adds a causal prefill chunk's attention (q new tokens over kv keys) to its block, one
  /// operation at a time (the decomposition's summation order). Memoised per (q, kv, pass):
  /// serving's prompts repeat their lengths (a trace's rows are drawn again and again).
  void add_prefill_attention(LayerBlocks& blocks, std::int64_t q, std::int64_t kv,
                             PassKind pass);
  /// Adds a decode batch's attention: one request per KV length, each at its own length (pairs
  /// are the sum, not an average; a windowed layer sees at most its window of each).
  void add_decode_attention(LayerBlocks& blocks, std::span<const std::int64_t> kv_lengths,
                            PassKind pass);
  std::size_t blocks() const { return parallel_block_ ? 1 : 2; }

 private:
  Linear price_linear(std::int64_t tokens, PassKind pass) const;
  double price_head(std::int64_t rows, PassKind pass) const;
  void add_attention(LayerBlocks& blocks, const AttentionOps& ops, PassKind pass) const;
  // One prefill chunk's attention, priced: each operation's block and seconds, in order, so a
  // hit adds the same doubles in the same order as pricing again. A fixed table (allocated on
  // first use; a key that collides replaces the entry).
  struct PrefillAttention {
    static constexpr std::size_t kOps = std::tuple_size_v<decltype(AttentionOps::ops)>;
    std::int64_t q = 0, kv = 0;
    PassKind pass = PassKind::kWithPrefill;
    std::uint8_t count = 0;  // 0: empty
    std::array<std::uint8_t, kOps> block{};
    std::array<double, kOps> seconds{};
  };
  double decode_kernel_seconds(const Operation& op, PassKind pass);

  const LlmSpec& model_;
  DecomposeOptions options_;
  const ComputeModel& compute_;
  const EngineModel& engine_;
  bool parallel_block_;
  bool windowed_decode_;  // decode attention needs each KV length, not only their totals
  bool routed_experts_;   // the layer includes the routed experts
  std::optional<DecodeAttentionTemplate> decode_template_;  // one fused kernel, else none
  std::unique_ptr<OperationPricer> decode_pricer_;          // null: compute_.cost()
  // Indexed [pass][count]; counts past kTableLimit are priced per call into overflow_.
  std::array<std::vector<Linear>, 2> linear_;
  std::array<std::vector<double>, 2> head_;  // NaN: not priced yet
  Linear overflow_;
  std::vector<PrefillAttention> prefill_memo_;  // empty until the first prefill is priced
};

}  // namespace kvsim
