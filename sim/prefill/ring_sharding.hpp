#pragma once
// How ring attention (context parallelism) shards a prompt over its sequence ranks, and which
// attention blocks each pair of ranks computes. Pure arithmetic on token counts: the ring
// strategy (impl/ring.cpp) prices and times the blocks, tests check the balance.
//
// The prompt is P cached tokens (K and V persistent from an earlier turn, split evenly over the
// ranks; every new query sees all of them) followed by T new tokens. The new tokens are cut
// into chunks in sequence order:
//  - contiguous: N chunks, rank r owns chunk r (the last rank does the most causal work);
//  - load-balanced: 2N chunks, rank r owns chunks r and 2N-1-r (one from the front, one from
//    the back: every rank then has the same causal work; Brandon et al. 2023 "Striped
//    Attention" / the zig-zag split of Llama 3 and Meta's context-parallel inference).
// A query chunk i against a key chunk j is dense when j < i, causal (the diagonal) when j == i
// and skipped (fully masked) when j > i.

#include <cstdint>
#include <vector>

#include "models/llm/operations.hpp"

namespace kvsim::prefill {

enum class RingSharding { kLoadBalanced, kContiguous };

struct RingShards {
  std::vector<std::int64_t> chunk_tokens;  // new tokens per chunk, in sequence order
  std::vector<std::vector<int>> chunks_of;  // chunk indices each rank owns
  std::vector<std::int64_t> cached_of;      // cached tokens each rank holds
  std::int64_t new_tokens(int rank) const;
  std::int64_t kv_tokens(int rank) const { return new_tokens(rank) + cached_of[rank]; }
  int ranks() const { return static_cast<int>(chunks_of.size()); }
  /// The rank owning the prompt's last token (it computes the LM head).
  int last_token_rank() const;
};

/// Shards `new_tokens` after `cached_tokens` over `ranks` (chunks differ by at most a token).
RingShards ring_shards(std::int64_t new_tokens, std::int64_t cached_tokens, int ranks,
                       RingSharding sharding);

/// One attention kernel of a ring step: q queries against kv keys under mask.
struct AttentionBlock {
  std::int64_t q_tokens = 0;
  std::int64_t kv_tokens = 0;
  Mask mask = Mask::kDense;
};

/// The kernels that rank q_rank's queries run against rank kv_rank's keys: its cached keys
/// (dense), then every (query chunk, key chunk) pair that is not fully masked.
std::vector<AttentionBlock> ring_blocks(const RingShards& shards, int q_rank, int kv_rank);

/// Query-key pairs (per head) rank r's queries compute over the whole ring.
std::int64_t ring_query_key_pairs(const RingShards& shards, int rank);

}  // namespace kvsim::prefill
