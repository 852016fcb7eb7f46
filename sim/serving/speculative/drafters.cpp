// The drafter family's implementations and registry (see drafter.hpp).
#include <fmt/format.h>

#include "models/catalog/catalog.hpp"
#include "sim/serving/speculative/drafter.hpp"
#include "sim/serving/speculative/pass_cost.hpp"

namespace kvsim::serving::speculative {
namespace {

struct Common {
  std::int64_t k = 1;
  std::int64_t width = 1;
  Acceptance acceptance;
};

// "k", "tree_width" and "acceptance", bounded so that a tree stays a few thousand tokens.
Common read_common(const ConfigNode& n) {
  Common c;
  c.k = n.count("k");
  if (c.k > kMaxDrafts) n.at("k").fail(fmt::format("at most {} draft tokens per step", kMaxDrafts));
  c.width = n.count_or("tree_width", 1);
  std::int64_t tokens = 1, level = 1;
  for (std::int64_t j = 1; j <= c.k; ++j) {
    level *= c.width;
    tokens += level;
    if (tokens > kMaxTreeTokens) {
      n.at("tree_width").fail(fmt::format(
          "a tree of width {} and depth {} verifies more than {} tokens per sequence "
          "(kMaxTreeTokens in sim/serving/speculative/drafter.hpp)",
          c.width, c.k, kMaxTreeTokens));
    }
  }
  c.acceptance = Acceptance::read(n.at("acceptance"), c.k, c.width);
  return c;
}

Json resolved(const ConfigNode& n, const Common& c) {
  Json out = n.json();
  out["k"] = c.k;
  out["tree_width"] = c.width;
  return out;
}

// A separate, smaller model sharing the target's tokenizer, unsharded on one GPU.
class DraftModel final : public Drafter {
 public:
  DraftModel(Common c, Json r, const Scenario& s, LlmSpec draft, bool separate)
      : Drafter(std::move(c.acceptance), c.k, c.width, std::move(r)), s_(s),
        draft_(std::move(draft)), separate_(separate) {}
  DrafterMemory memory(std::int64_t) const override {
    if (separate_) return {0, 0, 1};
    return {draft_.weight_bytes(s_.precision.weights),
            draft_.kv_bytes_per_token(s_.precision.kv_cache), 0};
  }
  const char* name() const override { return "draft-model"; }

 protected:
  Duration pass(const IterationShape& shape, std::span<const Chunk> chunks,
                const std::vector<int>& gpus, Communication& comm) const override {
    const IterationCompute c = price_pass(s_, draft_, 1, shape, 0, chunks);
    return pass_time(c, static_cast<int>(draft_.layers), true, {gpus.front()},
                     pass_rows(shape, chunks), comm);
  }

 private:
  const Scenario& s_;
  LlmSpec draft_;
  bool separate_;
};

// Heads shaped as the target's decoder layers (EAGLE: `layers` of them, run for every draft
// position; MTP: one module per position), each with an input projection from the token's
// embedding and the previous hidden state (2h -> h), and the target's embedding and LM head.
class Head final : public Drafter {
 public:
  Head(Common c, Json r, const Scenario& s, std::int64_t layers, std::int64_t modules,
       const char* name)
      : Drafter(std::move(c.acceptance), c.k, c.width, std::move(r)), s_(s), layers_(layers),
        modules_(modules), name_(name) {
    stack_ = s.model;
    stack_.layers = layers;
  }
  DrafterMemory memory(std::int64_t tp) const override {
    const LlmSpec& m = s_.model;
    LlmSpec none = m;
    none.layers = 0;
    const double per_stack = stack_.weight_bytes(s_.precision.weights) -
                             none.weight_bytes(s_.precision.weights) +
                             2.0 * static_cast<double>(m.hidden_size * m.hidden_size) *
                                 bytes_of(s_.precision.weights);
    const std::int64_t rank_kv_heads = m.kv_heads >= tp ? m.kv_heads / tp : 1;
    const double kv = m.kv_bytes_per_token_layer(s_.precision.kv_cache) *
                      static_cast<double>(layers_ * rank_kv_heads) /
                      static_cast<double>(m.kv_heads);
    return {per_stack * static_cast<double>(modules_) / static_cast<double>(tp),
            kv * static_cast<double>(modules_), 0};
  }
  const char* name() const override { return name_; }

 protected:
  Duration pass(const IterationShape& shape, std::span<const Chunk> chunks,
                const std::vector<int>& gpus, Communication& comm) const override {
    const auto tp = static_cast<std::int64_t>(gpus.size());
    const std::int64_t rows = pass_rows(shape, chunks);
    const PassKind kind = shape.prefills.empty() && chunks.empty() ? PassKind::kPureDecode
                                                                   : PassKind::kWithPrefill;
    const Operation fc = gemm(OpKind::kQkvProj, LayerStage::kPreAttention, rows,
                              s_.model.hidden_size / tp, 2 * s_.model.hidden_size, s_.precision);
    const double fc_seconds = s_.engine.op_seconds(*s_.compute, fc, kind) /
                              static_cast<double>(layers_);  // once per pass, not per layer
    const IterationCompute c = price_pass(s_, stack_, tp, shape, fc_seconds, chunks);
    return pass_time(c, static_cast<int>(layers_), true, gpus, rows, comm);
  }

 private:
  const Scenario& s_;
  LlmSpec stack_;  // the target with the head's layers
  std::int64_t layers_;
  std::int64_t modules_;
  const char* name_;
};

std::unique_ptr<Drafter> make_draft_model(const ConfigNode& n, const Scenario& s) {
  Common c = read_common(n);
  const ConfigNode model = n.at("model");
  LlmSpec draft = catalog::resolve_llm(model);
  if (draft.vocab_size != s.model.vocab_size) {
    model.fail(fmt::format("a draft model must share the target's tokenizer: {} has a "
                           "vocabulary of {} tokens, the target {} has {}",
                           draft.name, draft.vocab_size, s.model.name, s.model.vocab_size));
  }
  const bool separate = n.one_of_or("placement", "shared", {"shared", "separate"}) == "separate";
  const double weights = draft.weight_bytes(s.precision.weights);
  if (separate && weights > s.gpu.hbm_bytes * s.memory_utilization) {
    model.fail(fmt::format("{}'s weights ({:.2f} GiB) do not fit one {} (x memory_utilization)",
                           draft.name, weights / (1 << 30), s.gpu.name));
  }
  Json r = resolved(n, c);
  r["placement"] = separate ? "separate" : "shared";
  return std::make_unique<DraftModel>(std::move(c), std::move(r), s, std::move(draft), separate);
}

std::unique_ptr<Drafter> make_eagle(const ConfigNode& n, const Scenario& s) {
  Common c = read_common(n);
  const std::int64_t layers = n.count_or("layers", 1);
  if (layers > s.model.layers) {
    n.at("layers").fail(fmt::format("a head of more layers than the target ({}) is not a head",
                                    s.model.layers));
  }
  Json r = resolved(n, c);
  r["layers"] = layers;
  return std::make_unique<Head>(std::move(c), std::move(r), s, layers, 1, "eagle");
}

std::unique_ptr<Drafter> make_mtp(const ConfigNode& n, const Scenario& s) {
  Common c = read_common(n);
  if (c.width > 1) {
    n.at("tree_width").fail("MTP modules predict one token per position (DeepSeek-V3); a tree "
                            "of them is not modelled: give tree_width 1");
  }
  const std::int64_t k = c.k;
  return std::make_unique<Head>(std::move(c), resolved(n, Common{k, 1, {}}), s, 1, k, "mtp");
}

std::vector<ParamDoc> common_docs() {
  return {{"k", "count", "", "draft tokens proposed per step (1 to 64)"},
          {"acceptance", "ratio, array or object", "",
           "per-token acceptance rate (0-1); or an array of k per-position rates; or "
           "{\"classes\": [{\"share\": s, \"acceptance\": rate or array}, ...]}: request classes, "
           "each request drawn into one by its id from the seed"},
          {"tree_width", "count", "1",
           "candidates per position: a full tree of this width and depth k (1 + w + ... + w^k "
           "tokens verified, at most 1024); a position is accepted if any candidate is "
           "(1 - (1 - a)^w, candidates independent)"}};
}

}  // namespace

const DrafterRegistry& drafters() {
  static const DrafterRegistry registry = [] {
    DrafterRegistry r("drafter", "what proposes the tokens speculative decoding verifies");
    std::vector<ParamDoc> model = common_docs();
    model.push_back({"model", "model", "",
                     "the draft model: a catalog name or {\"hf_config\": ...}; must share the "
                     "target's vocabulary"});
    model.push_back({"placement", "string", "shared",
                     "shared: unsharded on the replica's first GPU (its weights and KV count "
                     "there); separate: on a GPU of its own beside each replica"});
    r.add("draft-model", "a separate smaller model; each draft step is one decode pass of it",
          model, make_draft_model);
    std::vector<ParamDoc> eagle = common_docs();
    eagle.push_back({"layers", "count", "1",
                     "decoder layers of the target's shape in the head (EAGLE: 1)"});
    r.add("eagle",
          "an EAGLE/Medusa-style head: layers of the target's shape, a 2h->h projection and the "
          "target's LM head, run once per draft position",
          eagle, make_eagle);
    std::vector<ParamDoc> mtp = common_docs();
    mtp.back().doc = "1 only: a module predicts one token per position (a tree is refused)";
    r.add("mtp",
          "DeepSeek-style multi-token prediction: k modules (a layer of the target's shape and "
          "a 2h->h projection each), module i drafting position i",
          mtp, make_mtp);
    return r;
  }();
  return registry;
}

}  // namespace kvsim::serving::speculative
