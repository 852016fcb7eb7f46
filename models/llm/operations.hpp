#pragma once
// An LLM forward pass decomposed into operations (kernels) with their FLOPs and bytes.
//
// Per layer: input norm, QKV projection, rotary, attention (fused, or eager as three kernels),
// output projection, residual add, post-attention norm, MLP (gate+up, activation, down), residual
// add. Per model: embedding, final norm, LM head, sampling. Each operation says which stage of
// the layer it belongs to, so parallel strategies can schedule "QKV", "attention" and "rest"
// separately, and carries its GEMM or attention shape for calibrated cost models.
//
// Units: FLOPs and bytes are per call of the kernel on one GPU (after tensor-parallel sharding).

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/llm/dtype.hpp"
#include "models/llm/llm_spec.hpp"

namespace kvsim {

enum class OpKind {
  kEmbedding,
  kInputNorm,
  kQkvProj,
  kRotary,
  kAttention,       // fused (FlashAttention-like) attention
  kAttnScores,      // eager: Q K^T written to memory
  kAttnSoftmax,     // eager: mask + softmax in fp32 + cast back
  kAttnValue,       // eager: probabilities times V
  kLatentNorm,      // MLA: RMSNorm of the query and KV latents
  kQUpProj,         // MLA: per-head queries from the query latent (q_b_proj)
  kKvUpProj,        // MLA prefill: per-head K_nope and V from the cached latent (kv_b_proj)
  kMlaAbsorbQ,      // MLA decode: q_nope x W_UK, queries into the latent space
  kMlaAbsorbOut,    // MLA decode: latent attention output x W_UV
  kOutProj,
  kResidualAdd,
  kPostAttnNorm,
  kMlpUp,           // gate and up projections fused, or the single up projection
  kMlpAct,          // SiLU-and-multiply or GeLU
  kMlpDown,
  kFinalNorm,
  kLmHead,
  kSampling,
  // Mixture of experts (moe_operations.hpp); shared experts are kMlpUp/kMlpAct/kMlpDown.
  kRouter,      // GEMM from the hidden size to one logit per expert
  kRouterTopK,  // softmax and top-k over the logits
  kExpertUp,    // routed experts' gate and up projections, one grouped GEMM
  kExpertAct,
  kExpertDown,
};

/// Which kind of kernel: decides how a calibrated model looks the cost up.
enum class OpClass { kGemm, kAttention, kElementwise };

/// Where in a transformer layer an op runs (for strategies that split a layer).
enum class LayerStage { kPreAttention, kAttention, kPostAttention, kModel };

enum class AttentionImpl { kFused, kEager };

struct GemmShape {
  std::int64_t m = 0;  // tokens (rows)
  std::int64_t n = 0;  // output features
  std::int64_t k = 0;  // input features
};

struct AttentionShape {
  std::int64_t batch = 1;      // requests
  std::int64_t q_tokens = 0;   // new tokens (queries), summed over the batch
  std::int64_t kv_tokens = 0;  // keys attended, summed over the batch
  std::int64_t pairs = 0;      // query-key pairs computed, per head
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;    // query/key width per head
  std::int64_t v_head_dim = 0;  // value width per head; 0: head_dim (MLA: narrower)
  bool prefill = true;
  // Keys each query sees at most (a sliding-window layer's window, itself included); 0: all
  // earlier keys. kv_tokens and pairs already count only the keys inside it.
  std::int64_t window = 0;
  // Keys of the longest request (a kernel's grid is sized by it); 0 when unknown, read as
  // kv_tokens / batch.
  std::int64_t longest_kv = 0;

  /// The mean of the key and value widths: the per-head work of one query-key pair.
  double mean_head_dim() const {
    return v_head_dim > 0 ? 0.5 * static_cast<double>(head_dim + v_head_dim)
                          : static_cast<double>(head_dim);
  }
};

struct Operation {
  OpKind kind{};
  OpClass op_class{};
  LayerStage stage{};
  DType dtype = DType::kFp16;    // the format of the arithmetic
  DType weights = DType::kFp16;  // the format weights are read in (when weight_bytes > 0)
  double flops = 0;
  double bytes_read = 0;
  double bytes_written = 0;
  double weight_bytes = 0;  // part of bytes_read that is weights
  // The fraction of the model's layers that run this operation: 1, except in models mixing
  // windowed and full-attention layers (Gemma-2/3), whose layer has one attention operation for
  // each kind with its share, and in MoE models with dense layers (a dense MLP in its dense
  // layers, the router and experts in the others; moe_operations.hpp). FLOPs, bytes and shape
  // are one call's; compute models scale the time, and totals the FLOPs and bytes, by it.
  double layer_share = 1.0;
  std::int64_t rows = 0;    // tokens (GEMM m; an elementwise kernel's rows); 0 for attention
  GemmShape gemm;
  AttentionShape attention;
  // A grouped GEMM (routed experts): `groups` GEMMs of weight n x k, gemm.m rows in all. The
  // FLOPs and bytes are the group's; calibrated models price it as `groups` GEMMs of the mean
  // rows.
  std::int64_t groups = 1;

  double bytes() const { return bytes_read + bytes_written; }
};

std::string to_string(OpKind kind);

/// How queries see keys in a prefill chunk.
enum class Mask {
  kCausal,  // the q queries are the last q of the kv keys; each sees keys up to itself
  kDense,   // every query against every key (the TSP baseline's rectangle)
};

struct PrefillChunk {
  std::int64_t q_tokens = 0;   // new tokens in this chunk
  std::int64_t kv_tokens = 0;  // keys visible: earlier tokens plus this chunk
  Mask mask = Mask::kCausal;
};

struct DecomposeOptions {
  Precision precision;
  AttentionImpl attention = AttentionImpl::kFused;
  std::int64_t tensor_parallel = 1;  // weights and heads sharded over this many GPUs
  // Mixture of experts: routed experts split over this many GPUs (1, or a divisor of
  // tensor_parallel, or any count when tensor_parallel is 1), and the router's share of tokens
  // per expert (expert_load.hpp; null: every expert alike).
  std::int64_t expert_parallel = 1;
  std::shared_ptr<const std::vector<double>> expert_shares;
};

/// `p` with the weights and activations of the group `kind` belongs to (Precision::of):
/// attention projections, MLP GEMMs, embedding and LM head; other kinds unchanged.
Precision for_operation(OpKind kind, const Precision& p);

/// One GEMM of m rows (tokens) against an n x k weight, with its FLOPs and bytes, in the formats
/// of its group (for_operation).
Operation gemm(OpKind kind, LayerStage stage, std::int64_t m, std::int64_t n, std::int64_t k,
               const Precision& precision);

/// A kernel that reads `inputs` tensors of tokens x width and writes one, doing
/// `flops_per_element` per element, plus `weights` weight elements read.
Operation elementwise(OpKind kind, LayerStage stage, std::int64_t tokens, std::int64_t width,
                      int inputs, double flops_per_element, std::int64_t weights,
                      const Precision& precision);

/// Query-key pairs of a causal chunk: q (kv - q) + q (q + 1) / 2.
std::int64_t causal_pairs(std::int64_t q_tokens, std::int64_t kv_tokens);

/// Operations of one layer for a prefill chunk.
std::vector<Operation> prefill_layer(const LlmSpec& spec, const PrefillChunk& chunk,
                                     const DecomposeOptions& options);
/// Operations of one layer for a decode step of a batch; one entry per request's KV length
/// (the KV length includes the token being generated).
std::vector<Operation> decode_layer(const LlmSpec& spec, std::span<const std::int64_t> kv_lengths,
                                    const DecomposeOptions& options);
/// The attention operations of one layer alone (fused: one; eager: scores, softmax, value;
/// latent attention: its per-sequence GEMMs around the kernel), once per kind of attention layer
/// (full and windowed, each with its layer_share), in the order prefill_layer and decode_layer
/// list them. A fixed array: pricing a batch's attention every iteration (the compiled cost,
/// models/compiled) builds them without allocating.
struct AttentionOps {
  std::array<Operation, 6> ops{};
  std::size_t count = 0;
  const Operation* begin() const { return ops.data(); }
  const Operation* end() const { return ops.data() + count; }
  void push(const Operation& op) { ops.at(count++) = op; }
  /// Sets the layer share of the operations from `first` on.
  void set_share(std::size_t first, double share) {
    for (std::size_t i = first; i < count; ++i) ops[i].layer_share = share;
  }
};
/// The attention of prefill_layer(spec, chunk, options), with the same checks.
AttentionOps prefill_attention(const LlmSpec& spec, const PrefillChunk& chunk,
                               const DecomposeOptions& options);
/// The attention of decode_layer(spec, kv_lengths, options), with the same checks.
AttentionOps decode_attention(const LlmSpec& spec, std::span<const std::int64_t> kv_lengths,
                              const DecomposeOptions& options);
/// Embedding of `input_tokens`, final norm and LM head over `output_rows`, and sampling.
std::vector<Operation> model_ends(const LlmSpec& spec, std::int64_t input_tokens,
                                  std::int64_t output_rows, const DecomposeOptions& options);

/// Query-key pairs of a causal chunk in which each query sees at most `window` keys (itself
/// included): the sum of min(position + 1, window) over the chunk's queries.
std::int64_t windowed_pairs(std::int64_t q_tokens, std::int64_t kv_tokens, std::int64_t window);

/// Totals over a list.
double total_flops(std::span<const Operation> ops);
double total_bytes(std::span<const Operation> ops);

}  // namespace kvsim
