#include "sim/serving/dp_attention.hpp"

#include <algorithm>
#include <numeric>

#include "models/llm/moe_operations.hpp"
#include "sim/network/collectives.hpp"

namespace kvsim::serving {
namespace {

std::size_t index_of(PassKind pass) { return pass == PassKind::kPureDecode ? 1 : 0; }

// Each rank sends its tokens' experts_per_token copies of the hidden state out and back; an
// averaged layer carries the MoE layers' share of them (as tsp/ep's all-to-alls do).
double all_to_all_bytes(const Scenario& s, std::int64_t tokens) {
  const LlmSpec& m = s.model;
  const double share = static_cast<double>(m.moe.moe_layers(m.layers)) /
                       static_cast<double>(m.layers);
  return static_cast<double>(tokens * m.moe.experts_per_token * m.hidden_size) *
         bytes_of(s.precision.activations) * share;
}

}  // namespace

// The KV a rank's sequences hold after the iteration, each at its own length (a windowed layer
// keeps at most its window of each).
double DpAttentionCost::kv_bytes(const IterationShape& shape) const {
  const DType kv = s_.precision.kv_cache;
  double bytes = 0;
  for (const auto& [q, after] : shape.prefills) bytes += s_.model.kv_bytes_for(kv, after);
  for (const std::int64_t l : shape.decodes) bytes += s_.model.kv_bytes_for(kv, l);
  return bytes;
}

std::vector<std::vector<std::int64_t>> split_round_robin(std::span<const std::int64_t> kv_lengths,
                                                         int ranks) {
  std::vector<std::vector<std::int64_t>> out(static_cast<std::size_t>(ranks));
  for (std::size_t i = 0; i < kv_lengths.size(); ++i) {
    out[i % out.size()].push_back(kv_lengths[i]);
  }
  return out;
}

DpAttentionCost::DpAttentionCost(const Scenario& s, int ranks)
    : s_(s),
      options_(s.decompose_options(1, ranks)),
      ranks_(s.model, options_, *s.compute, s.engine, /*routed_experts=*/false) {}

// The closed form among the replica's GPUs, memoised per replica and buffer size.
Duration DpAttentionCost::all_to_all(const std::vector<int>& gpus, double bytes) {
  auto& memo = all_to_all_[gpus.front()];
  if (const auto it = memo.find(bytes); it != memo.end()) return it->second;
  const auto kind = net::CollectiveKind::kAllToAll;
  const Duration t = net::collective_time(
      *s_.topology, gpus, kind, s_.collectives.algorithm, bytes,
      net::choose_protocol(*s_.topology, gpus, kind, s_.collectives, bytes));
  return memo.emplace(bytes, t).first->second;
}

// One rank's layer (attention part) in seconds, in the compiled cost's order: its per-token
// operations, each prefill's attention, then its decodes'.
double DpAttentionCost::rank_layer(const IterationShape& shape, PassKind pass, double& embedding,
                                   double& head) {
  const CompiledCost::Linear& lin = ranks_.linear(shape.tokens(), pass);
  LayerBlocks blocks = lin.blocks;
  embedding = lin.embedding;
  head = ranks_.head(std::max<std::int64_t>(1, shape.emitting), pass);
  for (const auto& [q, kv] : shape.prefills) ranks_.add_prefill_attention(blocks, q, kv, pass);
  if (!shape.decodes.empty()) ranks_.add_decode_attention(blocks, shape.decodes, pass);
  return std::accumulate(blocks.begin(), blocks.end(), 0.0);
}

double DpAttentionCost::experts(std::int64_t tokens, PassKind pass) {
  auto& memo = experts_[index_of(pass)];
  if (const auto it = memo.find(tokens); it != memo.end()) return it->second;
  const double seconds =
      s_.engine.ops_seconds(*s_.compute, routed_expert_ops(s_.model, tokens, options_), pass);
  return memo.emplace(tokens, seconds).first->second;
}

DpAttentionStep DpAttentionCost::operator()(std::span<const IterationShape> ranks,
                                            const std::vector<int>& gpus) {
  const bool prefill = std::any_of(ranks.begin(), ranks.end(),
                                   [](const IterationShape& r) { return !r.prefills.empty(); });
  DpAttentionStep step;
  double first = 0;  // the embedding and the first layer's attention part, busiest rank
  double layer = 0;  // one layer's attention part, busiest rank
  double head = 0;
  std::int64_t tokens = 0;
  std::int64_t most_tokens = 0;
  for (const IterationShape& r : ranks) {
    const std::int64_t n = r.tokens();
    if (n == 0) continue;  // an idle rank joins the all-to-alls with nothing to send
    const PassKind pass = r.prefills.empty() ? PassKind::kPureDecode : PassKind::kWithPrefill;
    double embedding = 0;
    double rank_head = 0;
    const double l = rank_layer(r, pass, embedding, rank_head);
    first = std::max(first, embedding + l);
    layer = std::max(layer, l);
    head = std::max(head, rank_head);
    // Each rank's host time before its pass: the largest, added whole (at most the segment's
    // true wait plus the difference; equal when one rank is busiest in both).
    const auto sequences = static_cast<std::int64_t>(r.prefills.size() + r.decodes.size());
    step.compute = std::max(step.compute, s_.engine.host(sequences, n));
    step.busiest_sequences = std::max(step.busiest_sequences, sequences);
    step.kv_bytes_per_gpu = std::max(step.kv_bytes_per_gpu, kv_bytes(r));
    tokens += n;
    most_tokens = std::max(most_tokens, n);
  }
  const PassKind pass = prefill ? PassKind::kWithPrefill : PassKind::kPureDecode;
  step.experts_seconds = tokens > 0 ? experts(tokens, pass) : 0.0;
  step.attention_seconds = layer;
  // Every layer's attention part ends at a dispatch all-to-all that waits for the busiest
  // rank; the first layer's carries the embedding with it, and the head runs after the last
  // combine.
  const auto layers = static_cast<double>(s_.model.layers);
  step.compute += from_seconds(first + (layers - 1) * layer + layers * step.experts_seconds +
                               head);
  step.all_to_all_bytes = all_to_all_bytes(s_, most_tokens);
  if (most_tokens > 0) step.all_to_all_time = all_to_all(gpus, step.all_to_all_bytes);
  step.all_to_alls = 2 * static_cast<int>(s_.model.layers);
  step.communication = step.all_to_alls * step.all_to_all_time;
  step.total = step.compute + step.communication;
  step.weight_bytes_per_gpu =
      s_.model.weight_bytes_per_gpu(s_.precision, 1, static_cast<std::int64_t>(gpus.size()));
  return step;
}

DpAttentionStep dp_attention_step(const Scenario& s, int ranks,
                                  std::span<const std::int64_t> kv_lengths) {
  std::vector<int> gpus(static_cast<std::size_t>(ranks));
  std::iota(gpus.begin(), gpus.end(), 0);
  std::vector<IterationShape> shapes(static_cast<std::size_t>(ranks));
  const auto split = split_round_robin(kv_lengths, ranks);
  for (std::size_t r = 0; r < shapes.size(); ++r) {
    shapes[r].decodes = split[r];
    shapes[r].emitting = static_cast<std::int64_t>(split[r].size());
  }
  return DpAttentionCost(s, ranks)(shapes, gpus);
}

}  // namespace kvsim::serving
