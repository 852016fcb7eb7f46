#include "sim/prefill/stage_costs.hpp"

#include "models/llm/moe_operations.hpp"

namespace kvsim::prefill {

Duration price(const ComputeModel& compute, std::span<const Operation> ops) {
  return from_seconds(total_seconds(compute, ops));
}

Duration price(const PrefillSetup& s, std::span<const Operation> ops) {
  return from_seconds(s.engine->ops_seconds(*s.compute, ops, PassKind::kWithPrefill));
}

Duration pass_host(const PrefillSetup& s, std::int64_t tokens) { return s.engine->host(1, tokens); }

namespace {

// The post-attention stage of a layer of `kind` (the model with every layer dense, or MoE).
Duration post_attention(const PrefillSetup& s, const LlmSpec& kind, const PrefillChunk& chunk) {
  std::vector<Operation> post;
  for (const Operation& op : prefill_layer(kind, chunk, s.options)) {
    if (op.stage == LayerStage::kPostAttention) post.push_back(op);
  }
  return price(s, post);
}

// A mix's two kinds of layer, each priced whole (its MLP ops at a layer share of 1).
void price_layer_kinds(const PrefillSetup& s, const PrefillChunk& chunk, StageCosts& c) {
  const LlmSpec& m = *s.model;
  if (!m.moe.enabled() || m.moe.moe_layers(m.layers) == m.layers) return;
  LlmSpec dense = m;
  dense.moe = MoeSpec{};
  LlmSpec moe = m;
  moe.moe.first_dense_layers = 0;
  moe.moe.layer_step = 1;
  c.mixed = true;
  c.rest_dense = post_attention(s, dense, chunk);
  c.rest_moe = post_attention(s, moe, chunk);
}

}  // namespace

StageCosts stage_costs(const PrefillSetup& s, std::int64_t q, std::int64_t kv, Mask mask) {
  const auto ops = prefill_layer(*s.model, PrefillChunk{q, kv, mask}, s.options);
  std::vector<Operation> pre;
  std::vector<Operation> attention;
  std::vector<Operation> post;
  for (const Operation& op : ops) {
    (op.stage == LayerStage::kPreAttention ? pre
     : op.stage == LayerStage::kAttention  ? attention
                                           : post)
        .push_back(op);
  }
  const auto ends = model_ends(*s.model, q, 1, s.options);
  StageCosts c;
  c.embedding = pass_host(s, q) + price(s, std::span(ends).subspan(0, 1));
  c.qkv = price(s, pre);
  c.attention = price(s, attention);
  c.rest = price(s, post);
  std::vector<Operation> experts;
  for (const Operation& op : post) {
    if (is_routed_expert(op)) experts.push_back(op);
  }
  c.routed_experts = price(s, experts);
  c.head = price(s, std::span(ends).subspan(1));
  price_layer_kinds(s, PrefillChunk{q, kv, mask}, c);
  return c;
}

double kv_bytes_per_token_layer(const PrefillSetup& s) {
  return s.model->kv_bytes_per_token_layer(s.options.precision.kv_cache);
}

}  // namespace kvsim::prefill
