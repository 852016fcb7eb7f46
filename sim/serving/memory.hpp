#pragma once
// KV memory managers (registry family "kv memory"): how a replica's free HBM holds the K and V
// of its sequences.
//
//   contiguous  reserves the maximum sequence length per request at admission (systems before
//               vLLM): simple, and most of the reservation stays unused;
//   paged       fixed-size blocks allocated as tokens arrive (vLLM's PagedAttention): waste is
//               at most one partly filled block per sequence.
//
// Capacity in tokens: HBM x utilisation, less the weights and one full iteration's activations,
// divided by the K and V bytes of a token, all per GPU of the replica (its layers and heads).

#include <cstdint>
#include <memory>

#include "sim/core/registry.hpp"
#include "sim/serving/sequence.hpp"

namespace kvsim::serving {

/// What one GPU of a replica has for its KV cache.
struct KvBudget {
  double hbm_bytes = 0;             // per GPU
  double fixed_bytes = 0;           // weights and activations per GPU
  double kv_bytes_per_token = 0;    // per GPU: its layers, its share of the KV heads
  std::int64_t max_context = 0;     // the model's context length
  std::int64_t partitions = 1;      // managers sharing the memory (virtual engines)
  // Sliding-window layers (LlmSpec::sliding_window): the share of the layers that keep only
  // the last `window` tokens; 0 without a window.
  std::int64_t window = 0;
  double windowed_share = 0;
};

// Capacity and holdings are counted in full-attention token equivalents (kv_bytes_per_token
// each): with sliding-window layers a sequence of T cached tokens holds
// (1 - windowed_share) x T + windowed_share x min(T, window + one block) of them, rounded up, as
// vLLM's hybrid allocator frees a windowed layer's blocks once they leave the window.
class KvMemory {
 public:
  KvMemory(std::int64_t capacity_tokens, double utilization, std::int64_t window = 0,
           double windowed_share = 0)
      : capacity_(capacity_tokens), utilization_(utilization), window_(window),
        windowed_share_(windowed_share) {}
  virtual ~KvMemory() = default;

  /// Admits a waiting sequence that will hold `tokens` after its first iteration; false when
  /// it does not fit (keeping a small reserve for the running sequences' growth).
  virtual bool admit(Sequence& s, std::int64_t tokens) = 0;
  /// Makes `s` hold at least `tokens`; false when that does not fit. Inline for the common
  /// case, which serving asks per running sequence per iteration: `tokens` in
  /// (s.held - grow_slack, s.held], where the manager's answer is "yes, and nothing changes"
  /// (set_grow_slack; the managers' constructors in memory.cpp say why).
  bool grow(Sequence& s, std::int64_t tokens) {
    if (tokens <= s.held && tokens > s.held - grow_slack_) return true;
    return grow_to(s, tokens);
  }
  /// grow() without its inline shortcut (what it defers to; tests compare the two).
  virtual bool grow_to(Sequence& s, std::int64_t tokens) = 0;
  virtual Json to_json() const = 0;
  /// KV tokens `r` holds at its longest (its cached tokens rounded up to blocks, or reserved).
  virtual std::int64_t peak_tokens(const Request& r) const = 0;

  void release(Sequence& s) {
    held_ -= s.held;
    s.held = 0;
  }
  std::int64_t capacity() const { return capacity_; }
  std::int64_t held() const { return held_; }
  std::int64_t free() const { return capacity_ - held_; }
  double utilization() const { return utilization_; }
  /// Token equivalents that `cached` tokens of K and V fill (no block rounding), for the
  /// used-memory statistics.
  std::int64_t used(std::int64_t cached) const { return charged(cached, window_); }
  /// No sliding-window layers: used(t) == t.
  bool windowless() const { return window_ == 0; }

 protected:
  /// Token equivalents that `tokens` cached tokens hold when a windowed layer keeps at most
  /// `kept` of them (its window, rounded to whole blocks by a paged manager).
  /// Inline for the common case (no window), which serving asks per sequence per iteration.
  std::int64_t charged(std::int64_t tokens, std::int64_t kept) const {
    return window_ == 0 || tokens <= kept ? tokens : windowed(tokens, kept);
  }
  std::int64_t window() const { return window_; }
  /// Set by a manager for whom growing to any `tokens` in (s.held - slack, s.held] keeps what
  /// `s` holds and succeeds; 0: no shortcut.
  void set_grow_slack(std::int64_t slack) { grow_slack_ = slack; }
  /// Sets what `s` holds to `tokens` (already charged) if the difference fits.
  bool hold(Sequence& s, std::int64_t tokens, std::int64_t reserve = 0) {
    const std::int64_t more = tokens - s.held;
    if (more > free() - reserve) return false;
    held_ += more;
    s.held = tokens;
    return true;
  }

 private:
  std::int64_t capacity_;
  double utilization_;
  std::int64_t windowed(std::int64_t tokens, std::int64_t kept) const;

  std::int64_t window_;
  double windowed_share_;
  std::int64_t held_ = 0;
  std::int64_t grow_slack_ = 0;
};

using KvMemoryRegistry = Registry<std::unique_ptr<KvMemory>, const KvBudget&>;
const KvMemoryRegistry& kv_memories();

/// Bounds that keep token and block arithmetic inside 64 bits (checked when a manager is read).
inline constexpr std::int64_t kMaxKvTokens = std::int64_t{1} << 50;   // a replica's capacity
inline constexpr std::int64_t kMaxBlockTokens = std::int64_t{1} << 20;  // a paged block

/// Tokens of KV cache that fit one manager: (hbm x utilization - fixed) / bytes per token /
/// partitions; at most kMaxKvTokens.
double kv_capacity(const KvBudget& budget, double utilization);
std::int64_t kv_capacity_tokens(const KvBudget& budget, double utilization);

}  // namespace kvsim::serving
