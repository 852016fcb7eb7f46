#include "models/compiled/compiled_cost.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "models/llm/decode_totals.hpp"
#include "models/llm/moe_operations.hpp"

namespace kvsim {
namespace {

// Counts up to this many tokens (rows) are tabulated: 2^16 entries of 40 bytes per pass kind at
// most, grown as counts appear. A longer pass (a whole long prompt in one iteration) is priced
// per call; its attention, not its per-token operations, dominates it anyway.
constexpr std::int64_t kTableLimit = std::int64_t{1} << 16;

// The attention stage, priced per sequence: attention proper, eager attention's softmax and
// latent attention's per-sequence GEMMs (prefill's decompression, decode's absorbed projections).
bool attention_part(const Operation& op) { return op.stage == LayerStage::kAttention; }

// Block 0 runs up to the attention's output projection (then the first all-reduce), block 1
// the MLP.
std::size_t block_of(const Operation& op, bool parallel_block) {
  return parallel_block || op.kind <= OpKind::kOutProj ? 0 : 1;
}

std::size_t index_of(PassKind pass) { return pass == PassKind::kPureDecode ? 1 : 0; }

// Prefill attention memo entries (a power of two; 80 bytes each, 320 KiB allocated on first
// use): a trace's distinct prompt lengths number in the low thousands (splitwise_conv: 2,339).
constexpr std::size_t kPrefillMemoEntries = 4096;

// Grows `table` to hold index `count` (doubling, up to kTableLimit entries).
template <typename T>
void reserve_entry(std::vector<T>& table, std::int64_t count, const T& empty) {
  const auto need = static_cast<std::size_t>(count) + 1;
  if (need <= table.size()) return;
  const std::size_t grown = std::max(need, 2 * table.size());
  table.resize(std::min(grown, static_cast<std::size_t>(kTableLimit)), empty);
}

}  // namespace

bool LayerBlocks::operator==(const LayerBlocks& other) const {
  return count_ == other.count_ && std::equal(begin(), end(), other.begin());
}

CompiledCost::CompiledCost(const LlmSpec& model, const DecomposeOptions& options,
                           const ComputeModel& compute, const EngineModel& engine,
                           bool routed_experts)
    : model_(model),
      options_(options),
      compute_(compute),
      engine_(engine),
      parallel_block_(model.parallel_attention),
      windowed_decode_(decode_attention_windowed(model, options)),
      routed_experts_(routed_experts),
      decode_template_(DecodeAttentionTemplate::make(model, options)) {
  if (decode_template_) {
    decode_pricer_ = compute.decode_attention_pricer(decode_template_->at({1, 1, 1}));
  }
}

const CompiledCost::Linear& CompiledCost::linear(std::int64_t tokens, PassKind pass) {
  if (tokens < 1 || tokens >= kTableLimit) {
    overflow_ = price_linear(tokens, pass);  // the decomposition refuses a count below 1
    return overflow_;
  }
  std::vector<Linear>& table = linear_[index_of(pass)];
  reserve_entry(table, tokens, Linear{});
  Linear& entry = table[static_cast<std::size_t>(tokens)];
  if (!entry.priced) entry = price_linear(tokens, pass);
  return entry;
}

double CompiledCost::head(std::int64_t rows, PassKind pass) {
  if (rows < 1 || rows >= kTableLimit) return price_head(rows, pass);
  std::vector<double>& table = head_[index_of(pass)];
  reserve_entry(table, rows, std::numeric_limits<double>::quiet_NaN());
  double& entry = table[static_cast<std::size_t>(rows)];
  if (std::isnan(entry)) entry = price_head(rows, pass);
  return entry;
}

void CompiledCost::add_prefill_attention(LayerBlocks& blocks, std::int64_t q, std::int64_t kv,
                                         PassKind pass) {
  if (prefill_memo_.empty()) prefill_memo_.resize(kPrefillMemoEntries);
  // Multiplicative hashing (golden-ratio and xxHash primes) of the key, top bits kept.
  const std::uint64_t h = (static_cast<std::uint64_t>(q) * 0x9E3779B97F4A7C15ULL) ^
                          (static_cast<std::uint64_t>(kv) * 0xC2B2AE3D27D4EB4FULL) ^
                          static_cast<std::uint64_t>(index_of(pass));
  PrefillAttention& e = prefill_memo_[(h >> 32) & (kPrefillMemoEntries - 1)];
  // An empty entry (count 0) is never a hit, whatever is asked: a chunk's attention has at least
  // one operation, and prefill_attention() refuses what it must refuse.
  if (e.count == 0 || e.q != q || e.kv != kv || e.pass != pass) {
    const AttentionOps ops = prefill_attention(model_, {q, kv, Mask::kCausal}, options_);
    PrefillAttention priced{q, kv, pass};
    for (std::size_t i = 0; i < ops.count; ++i) {
      priced.block[i] = static_cast<std::uint8_t>(block_of(ops.ops[i], parallel_block_));
      priced.seconds[i] = engine_.op_seconds(compute_, ops.ops[i], pass);
    }
    priced.count = static_cast<std::uint8_t>(ops.count);
    e = priced;  // whole, once priced: a throw above leaves the entry as it was
  }
  for (std::size_t i = 0; i < e.count; ++i) blocks[e.block[i]] += e.seconds[i];
}

void CompiledCost::add_decode_attention(LayerBlocks& blocks,
                                        std::span<const std::int64_t> kv_lengths,
                                        PassKind pass) {
  if (windowed_decode_ || kv_lengths.empty()) {
    add_attention(blocks, decode_attention(model_, kv_lengths, options_), pass);
    return;
  }
  // Without a window every length counts whole: one walk sums them (integers, so the totals
  // equal decode_attention's own walk). Summed modulo 2^64, which is the true sum whenever
  // decode_attention's checks (batch and longest bounded) pass; they throw otherwise.
  DecodeTotals t{static_cast<std::int64_t>(kv_lengths.size()), 0, kv_lengths.front()};
  std::uint64_t kv = 0;
  for (const std::int64_t l : kv_lengths) {
    kv += static_cast<std::uint64_t>(l);
    t.most = std::max(t.most, l);
  }
  t.kv = static_cast<std::int64_t>(kv);
  if (decode_template_) {
    const Operation& op = decode_template_->at(t);
    blocks[block_of(op, parallel_block_)] += decode_kernel_seconds(op, pass);
    return;
  }
  add_attention(blocks, decode_attention(model_, t, options_), pass);
}

// engine_.op_seconds(compute_, op, pass), the compute time from the decode pricer when there is
// one (equal to compute_.cost(op).seconds: fused_decode_attention.hpp).
double CompiledCost::decode_kernel_seconds(const Operation& op, PassKind pass) {
  if (engine_.fused(op)) return 0.0;
  const double compute = decode_pricer_ ? decode_pricer_->seconds(op) : compute_.cost(op).seconds;
  return engine_.kernel_seconds(op, compute, pass);
}

void CompiledCost::add_attention(LayerBlocks& blocks, const AttentionOps& ops,
                                 PassKind pass) const {
  for (const Operation& op : ops) {
    blocks[block_of(op, parallel_block_)] += engine_.op_seconds(compute_, op, pass);
  }
}

// The table's definition: the decomposition of a prefill chunk of `tokens` rows, its attention
// (and when asked its routed experts) left out, summed per block in decomposition order; the
// embedding from model_ends.
CompiledCost::Linear CompiledCost::price_linear(std::int64_t tokens, PassKind pass) const {
  Linear lin;
  lin.blocks = LayerBlocks(blocks());
  lin.embedding =
      engine_.op_seconds(compute_, model_ends(model_, tokens, 1, options_).front(), pass);
  for (const Operation& op : prefill_layer(model_, {tokens, tokens, Mask::kCausal}, options_)) {
    if (!attention_part(op) && (routed_experts_ || !is_routed_expert(op))) {
      lin.blocks[block_of(op, parallel_block_)] += engine_.op_seconds(compute_, op, pass);
    }
  }
  lin.priced = true;
  return lin;
}

// Final norm, LM head and sampling: model_ends after its embedding, summed in order.
double CompiledCost::price_head(std::int64_t rows, PassKind pass) const {
  const auto ends = model_ends(model_, 1, rows, options_);
  double total = 0;
  for (std::size_t i = 1; i < ends.size(); ++i) total += engine_.op_seconds(compute_, ends[i], pass);
  return total;
}

}  // namespace kvsim
