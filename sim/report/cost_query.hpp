#pragma once
// `kvsim cost`: prices one thing the way kvsim does, for calibration work and audits.
//
// Each query goes through the scenario's own machinery, never a separate formula: a GEMM or an
// attention operation through the compute model's cost(op) (the Operation built by
// models/llm/operations, as every pass builds it); a collective through net::collective_time
// with the protocol net::choose_protocol picks from the scenario's collective config; a layer or
// a forward pass at a tensor-parallel shard through serving's IterationCost (the per-layer
// blocks a TP replica runs) and Communication (its closed-form all-reduce), so whatever those
// price (an engine model's launches and host time included) the cost shows too.
//
// Called by tools/kvsim/cmd_cost.cpp, which validates the options first (a query here assumes
// positive counts within models/llm/limits.hpp, heads divisible by KV heads, GPUs that exist).
// Units: seconds, FLOPs and bytes are totals over a line's calls; rates are derived from them.

#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace kvsim::report {

struct CostLine {
  std::string op;          // "gemm", "attention", "qkv_proj", "all-reduce", "layer", ...
  std::string shape;       // "4096 x 4096 x 4096", "q 512 x kv 4096, 32/8 heads x 128"
  std::int64_t calls = 1;  // kernels (or collectives) this line stands for
  double flops = 0;        // over all calls
  double bytes = 0;        // HBM bytes over all calls; a collective's buffer size S per call
  double seconds = 0;      // over all calls
  std::string source;      // measured / interpolated / extrapolated / roofline, or how a
                           // communication time was found
};

struct CostReport {
  std::string command;  // gemm, attention, collective, layer, pass
  std::string what;     // one line: the question asked
  std::string priced_by;  // the compute model's or the network's description
  std::vector<CostLine> lines;
  double seconds = 0;  // the answer: the whole thing once
  std::vector<std::string> notes;  // how the total is put together
  std::vector<std::string> warnings;  // what the answer assumed instead of the question
};

struct GemmQuery {
  std::int64_t m = 0;  // rows (tokens)
  std::int64_t n = 0;  // output features
  std::int64_t k = 0;  // input features
  DType dtype = DType::kFp16;  // activations and weights
};

struct AttentionQuery {
  std::int64_t chunk = 1;   // new tokens (queries) per sequence
  std::int64_t cached = 0;  // tokens already in each sequence's KV cache
  std::int64_t heads = 0;   // query heads on the GPU (a TP shard's share)
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t batch = 1;  // sequences
  bool decode = false;     // one query per sequence, priced as a decode batch
};

struct CollectiveQuery {
  net::CollectiveKind kind = net::CollectiveKind::kAllReduce;
  double bytes = 0;       // the full buffer S (see sim/network/collectives.hpp)
  std::vector<int> gpus;  // participants, topology GPU indices
};

struct PassQuery {
  std::int64_t tokens = 1;   // prefill: new tokens per sequence (decode: 1)
  std::int64_t context = 0;  // tokens already cached per sequence
  std::int64_t batch = 1;    // sequences
  bool decode = false;
  std::vector<int> gpus;     // the tensor-parallel group; its size is the TP degree
};

CostReport price_gemm(const Scenario& s, const GemmQuery& q);
CostReport price_attention(const Scenario& s, const AttentionQuery& q);
CostReport price_collective(const Scenario& s, const CollectiveQuery& q);
/// One transformer layer on one GPU of the TP group: its kernels, the blocks IterationCost
/// prices and the all-reduce after each block (when the group has more than one GPU).
CostReport price_layer(const Scenario& s, const PassQuery& q);
/// A whole forward pass: embedding, every layer, final norm, LM head and sampling.
CostReport price_pass(const Scenario& s, const PassQuery& q);

/// The human table (`kvsim cost`'s stdout) and the machine form (`--json`).
std::string format_cost(const CostReport& report);
Json cost_json(const CostReport& report);

}  // namespace kvsim::report
