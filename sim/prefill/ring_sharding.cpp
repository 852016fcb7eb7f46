#include "sim/prefill/ring_sharding.hpp"

namespace kvsim::prefill {
namespace {

// n parts of `total`, the first total % n one larger (parts may be 0 when total < n).
std::vector<std::int64_t> split(std::int64_t total, int n) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(n), total / n);
  for (std::int64_t i = 0; i < total % n; ++i) ++out[static_cast<std::size_t>(i)];
  return out;
}

}  // namespace

std::int64_t RingShards::new_tokens(int rank) const {
  std::int64_t sum = 0;
  for (const int c : chunks_of[rank]) sum += chunk_tokens[c];
  return sum;
}

int RingShards::last_token_rank() const {
  int last = 0;
  for (int c = 0; c < static_cast<int>(chunk_tokens.size()); ++c) {
    if (chunk_tokens[c] > 0) last = c;
  }
  for (int r = 0; r < ranks(); ++r) {
    for (const int c : chunks_of[r]) {
      if (c == last) return r;
    }
  }
  return 0;
}

RingShards ring_shards(std::int64_t new_tokens, std::int64_t cached_tokens, int ranks,
                       RingSharding sharding) {
  RingShards s;
  const bool balanced = sharding == RingSharding::kLoadBalanced;
  s.chunk_tokens = split(new_tokens, balanced ? 2 * ranks : ranks);
  s.cached_of = split(cached_tokens, ranks);
  for (int r = 0; r < ranks; ++r) {
    s.chunks_of.push_back(balanced ? std::vector<int>{r, 2 * ranks - 1 - r} : std::vector<int>{r});
  }
  return s;
}

std::vector<AttentionBlock> ring_blocks(const RingShards& shards, int q_rank, int kv_rank) {
  std::vector<AttentionBlock> out;
  const std::int64_t q_all = shards.new_tokens(q_rank);
  if (q_all > 0 && shards.cached_of[kv_rank] > 0) {
    out.push_back({q_all, shards.cached_of[kv_rank], Mask::kDense});
  }
  for (const int i : shards.chunks_of[q_rank]) {
    const std::int64_t q = shards.chunk_tokens[i];
    for (const int j : shards.chunks_of[kv_rank]) {
      const std::int64_t kv = shards.chunk_tokens[j];
      if (q == 0 || kv == 0 || j > i) continue;  // empty, or fully masked
      out.push_back({q, kv, j == i ? Mask::kCausal : Mask::kDense});
    }
  }
  return out;
}

std::int64_t ring_query_key_pairs(const RingShards& shards, int rank) {
  std::int64_t pairs = 0;
  for (int kv = 0; kv < shards.ranks(); ++kv) {
    for (const AttentionBlock& b : ring_blocks(shards, rank, kv)) {
      pairs += b.mask == Mask::kCausal ? causal_pairs(b.q_tokens, b.kv_tokens)
                                       : b.q_tokens * b.kv_tokens;
    }
  }
  return pairs;
}

}  // namespace kvsim::prefill
