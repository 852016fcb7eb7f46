#include "sim/serving/memory.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace kvsim::serving {
namespace {

class Contiguous final : public KvMemory {
 public:
  Contiguous(std::int64_t capacity, double utilization, std::int64_t max_sequence,
             const KvBudget& b)
      : KvMemory(capacity, utilization, b.window, b.windowed_share),
        max_sequence_(max_sequence) {
    // grow_to never changes what a sequence holds, and charged(tokens) <= tokens: any tokens up
    // to what it holds succeed.
    set_grow_slack(std::numeric_limits<std::int64_t>::max());
  }

  bool admit(Sequence& s, std::int64_t) override { return hold(s, peak_tokens(s.request)); }
  bool grow_to(Sequence& s, std::int64_t tokens) override {
    return charged(tokens, window()) <= s.held;
  }
  std::int64_t peak_tokens(const Request& r) const override {
    return charged(std::max(max_sequence_, r.prompt + r.output), window());
  }
  Json to_json() const override {
    return {{"type", "contiguous"}, {"utilization", utilization()},
            {"max_sequence", max_sequence_}};
  }

 private:
  std::int64_t max_sequence_;
};

class Paged final : public KvMemory {
 public:
  Paged(std::int64_t capacity, double utilization, std::int64_t block, double watermark,
        const KvBudget& b)
      : KvMemory(capacity, utilization, b.window, b.windowed_share), block_(block),
        watermark_(watermark) {
    // Without a window a sequence holds whole blocks (a multiple of block_, or 0): tokens in
    // (held - block, held] need exactly those, so hold() adds nothing and succeeds (held never
    // passes the capacity). A windowed layer's charge is not its blocks: no shortcut.
    if (b.window == 0) set_grow_slack(block);
  }

  bool admit(Sequence& s, std::int64_t tokens) override {
    // vLLM's watermark: new sequences leave a share of the blocks to the running ones, so that
    // admitting does not immediately force a preemption.
    const auto reserve =
        static_cast<std::int64_t>(watermark_ * static_cast<double>(capacity()));
    return hold(s, charged_blocks(tokens), reserve);
  }
  bool grow_to(Sequence& s, std::int64_t tokens) override {
    // A decode crossing into the next block (the common call): without a window, tokens in
    // (held, held + block] need exactly one more block, as blocks() rounds (held is whole blocks).
    if (window() == 0 && tokens > s.held && tokens <= s.held + block_) {
      return hold(s, s.held + block_);
    }
    return hold(s, charged_blocks(tokens));
  }
  // The last token is sampled, never cached: at most prompt + output - 1 tokens of K and V.
  std::int64_t peak_tokens(const Request& r) const override {
    return charged_blocks(r.prompt + r.output - 1);
  }
  Json to_json() const override {
    return {{"type", "paged"}, {"utilization", utilization()}, {"block_size", block_},
            {"watermark", watermark_}};
  }

 private:
  // Tokens held by the whole blocks that `tokens` need.
  std::int64_t blocks(std::int64_t tokens) const { return (tokens + block_ - 1) / block_ * block_; }
  // A windowed layer keeps the blocks its window spans, plus the one it is leaving (vLLM).
  std::int64_t charged_blocks(std::int64_t tokens) const {
    return charged(blocks(tokens), blocks(window()) + block_);
  }

  std::int64_t block_;
  double watermark_;
};

double read_utilization(const ConfigNode& n) { return n.number_or("utilization", 0.9, 0.01, 1); }

// A count of tokens in [1, limit] (so that block arithmetic cannot overflow).
std::int64_t bounded_count(const ConfigNode& n, const std::string& key, std::int64_t fallback,
                           std::int64_t limit, const char* limit_name) {
  const std::int64_t v = n.count_or(key, fallback);
  if (v > limit) {
    n.at(key).fail(fmt::format("at most {} tokens ({}), got {}", limit, limit_name, v));
  }
  return v;
}

// The capacity for `n`'s utilisation, or a clear failure when nothing fits.
std::int64_t capacity_or_fail(const ConfigNode& n, const KvBudget& b, double utilization,
                              std::int64_t at_least) {
  const double tokens = kv_capacity(b, utilization);
  if (tokens > static_cast<double>(kMaxKvTokens)) {
    n.fail(fmt::format("a KV memory of {:.3g} tokens per replica is more than kvsim counts "
                       "({}, kMaxKvTokens in sim/serving/memory.hpp); check the GPU's memory "
                       "(/cluster/gpu) and the model's KV size",
                       tokens, kMaxKvTokens));
  }
  const std::int64_t capacity = kv_capacity_tokens(b, utilization);
  if (capacity < at_least) {
    n.fail(fmt::format("no room for the KV cache: each GPU has {:.1f} GiB x {} utilisation but "
                       "needs {:.1f} GiB for weights and activations; use more GPUs per replica "
                       "(tensor_parallel, pipeline_parallel) or a larger utilization",
                       b.hbm_bytes / (1 << 30), utilization, b.fixed_bytes / (1 << 30)));
  }
  return capacity;
}

}  // namespace

std::int64_t KvMemory::windowed(std::int64_t tokens, std::int64_t kept) const {
  const double equivalents = (1.0 - windowed_share_) * static_cast<double>(tokens) +
                             windowed_share_ * static_cast<double>(kept);
  return static_cast<std::int64_t>(std::ceil(equivalents));
}

double kv_capacity(const KvBudget& b, double utilization) {
  const double free_bytes = b.hbm_bytes * utilization - b.fixed_bytes;
  return free_bytes <= 0 ? 0
                         : free_bytes / b.kv_bytes_per_token / static_cast<double>(b.partitions);
}

std::int64_t kv_capacity_tokens(const KvBudget& b, double utilization) {
  const double tokens = kv_capacity(b, utilization);
  if (!(tokens <= static_cast<double>(kMaxKvTokens))) {
    throw std::logic_error(fmt::format("KV capacity of {} tokens is past kMaxKvTokens", tokens));
  }
  return static_cast<std::int64_t>(tokens);
}

const KvMemoryRegistry& kv_memories() {
  static const KvMemoryRegistry registry = [] {
    KvMemoryRegistry r("kv memory", "how a replica's free HBM holds its sequences' K and V");
    const ParamDoc utilization{"utilization", "ratio", "0.9",
                               "fraction of HBM the replica may use (weights, activations, KV)"};
    r.add("contiguous",
          "reserves the maximum sequence length per request at admission (before vLLM)",
          {utilization,
           {"max_sequence", "count", "model context",
            "tokens reserved per request (at least its prompt + output)"}},
          [](const ConfigNode& n, const KvBudget& b) -> std::unique_ptr<KvMemory> {
            const double u = read_utilization(n);
            const std::int64_t max_sequence =
                bounded_count(n, "max_sequence", b.max_context, kMaxRequestTokens,
                              "kMaxRequestTokens in sim/serving/workload.hpp");
            return std::make_unique<Contiguous>(capacity_or_fail(n, b, u, 1), u, max_sequence,
                                                b);
          });
    r.add("paged", "fixed-size blocks allocated as tokens arrive (vLLM's PagedAttention)",
          {utilization,
           {"block_size", "count", "16", "tokens per block"},
           {"watermark", "ratio", "0.01",
            "share of the blocks new sequences leave free for running ones"}},
          [](const ConfigNode& n, const KvBudget& b) -> std::unique_ptr<KvMemory> {
            const double u = read_utilization(n);
            const std::int64_t block =
                bounded_count(n, "block_size", 16, kMaxBlockTokens,
                              "kMaxBlockTokens in sim/serving/memory.hpp");
            const double watermark = n.number_or("watermark", 0.01, 0, 0.5);
            return std::make_unique<Paged>(capacity_or_fail(n, b, u, block), u, block, watermark,
                                           b);
          });
    return r;
  }();
  return registry;
}

}  // namespace kvsim::serving
