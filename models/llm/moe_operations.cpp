#include "models/llm/moe_operations.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "models/llm/expert_load.hpp"
#include "sim/core/input_error.hpp"

namespace kvsim {
namespace {

double d(std::int64_t v) { return static_cast<double>(v); }

// The op runs in `share` of the layers (Operation::layer_share: its FLOPs and bytes stay one
// call's; compute models scale its time by the share).
Operation with_share(Operation op, double share) {
  op.layer_share = share;
  return op;
}

double moe_share(const LlmSpec& s) { return d(s.moe.moe_layers(s.layers)) / d(s.layers); }

// Width of one routed expert on a GPU: whole under expert parallelism, else sharded over the
// tensor-parallel ranks that share each expert (tp / ep of them).
std::int64_t expert_width(const LlmSpec& s, const DecomposeOptions& o) {
  const std::int64_t split = std::max<std::int64_t>(1, o.tensor_parallel / o.expert_parallel);
  return (s.moe.expert_intermediate + split - 1) / split;
}

// A grouped GEMM of `groups` weights n x k over `rows` rows in all.
Operation grouped(OpKind kind, std::int64_t rows, std::int64_t n, std::int64_t k,
                  std::int64_t groups, const Precision& p) {
  Operation op = gemm(kind, LayerStage::kPostAttention, rows, n, k, p);
  op.groups = groups;
  // gemm() chose the MLP group's formats (for_operation): size the group's bytes with them.
  op.weight_bytes = d(groups) * d(n) * d(k) * bytes_of(op.weights);
  op.bytes_read = d(rows) * d(k) * bytes_of(op.dtype) + op.weight_bytes;
  return op;
}

// A dense MLP of `width` on this GPU (the model's dense layers, or the shared experts).
void mlp(std::vector<Operation>& out, const LlmSpec& s, std::int64_t tokens, std::int64_t width,
         double share, const Precision& p) {
  const LayerStage st = LayerStage::kPostAttention;
  const int gate = s.gated_mlp ? 2 : 1;
  out.push_back(with_share(gemm(OpKind::kMlpUp, st, tokens, gate * width, s.hidden_size, p),
                           share));
  out.push_back(with_share(elementwise(OpKind::kMlpAct, st, tokens, width, gate,
                                       s.gated_mlp ? 6 : 8, 0, p),
                           share));
  out.push_back(with_share(gemm(OpKind::kMlpDown, st, tokens, s.hidden_size, width, p), share));
}

std::vector<double> shares_of(const LlmSpec& s, const DecomposeOptions& o) {
  if (o.expert_shares && static_cast<std::int64_t>(o.expert_shares->size()) == s.moe.experts) {
    return *o.expert_shares;
  }
  return std::vector<double>(static_cast<std::size_t>(s.moe.experts), 1.0 / d(s.moe.experts));
}

}  // namespace

void check_expert_parallel(const LlmSpec& s, std::int64_t ep, std::int64_t tp) {
  const bool fits = ep >= 1 && s.moe.experts % ep == 0 && (tp == 1 || tp % ep == 0);
  if (fits && (ep == 1 || s.moe.enabled())) return;
  const std::string why =
      !s.moe.enabled()
          ? fmt::format("expert parallelism {} needs a mixture-of-experts model", ep)
          : fmt::format("expert parallelism {} must divide the {} experts and the "
                        "tensor-parallel degree {} (or that degree be 1)",
                        ep, s.moe.experts, tp);
  throw InputError(fmt::format("model {}", s.name), "", why);
}

ExpertParallel read_layout_expert_parallel(const ConfigNode& n, const std::string& key,
                                           const LlmSpec& s, std::int64_t tp) {
  const ExpertParallel ep = read_expert_parallel(n, key);
  if (!ep.on()) return ep;
  const std::int64_t degree = ep.over(tp);
  if (tp % degree != 0) {
    n.at(key).fail(fmt::format("an expert-parallel degree of {} must divide tensor_parallel {}: "
                               "the experts are split over one replica's tensor-parallel ranks "
                               "(experts across data-parallel replicas are not modelled)",
                               degree, tp));
  }
  try {
    check_expert_parallel(s, degree, tp);
  } catch (const InputError& e) {
    n.at(key).fail(e.message());
  }
  return ep;
}

std::vector<ExpertRankLoad> rank_loads(const LlmSpec& s, std::int64_t tokens,
                                       const DecomposeOptions& o) {
  check_expert_parallel(s, o.expert_parallel, o.tensor_parallel);
  const std::vector<std::int64_t> counts =
      expert_tokens(shares_of(s, o), tokens, s.moe.experts_per_token);
  const std::int64_t per_rank = s.moe.experts / o.expert_parallel;
  std::vector<ExpertRankLoad> loads;
  for (std::int64_t r = 0; r < o.expert_parallel; ++r) {
    ExpertRankLoad load;
    for (std::int64_t e = r * per_rank; e < (r + 1) * per_rank; ++e) {
      load.rows += counts[static_cast<std::size_t>(e)];
      load.active_experts += counts[static_cast<std::size_t>(e)] > 0 ? 1 : 0;
    }
    loads.push_back(load);
  }
  return loads;
}

ExpertRankLoad busiest_rank(const LlmSpec& s, std::int64_t tokens, const DecomposeOptions& o) {
  ExpertRankLoad best;
  for (const ExpertRankLoad& load : rank_loads(s, tokens, o)) {
    if (load.rows > best.rows ||
        (load.rows == best.rows && load.active_experts > best.active_experts)) {
      best = load;
    }
  }
  return best;
}

std::vector<Operation> routed_expert_ops(const LlmSpec& s, std::int64_t tokens,
                                         const DecomposeOptions& o, int rank) {
  const ExpertRankLoad load = rank < 0 ? busiest_rank(s, tokens, o)
                                       : rank_loads(s, tokens, o).at(static_cast<std::size_t>(rank));
  const Precision& p = o.precision;
  const std::int64_t w = expert_width(s, o);
  const std::int64_t h = s.hidden_size;
  const int gate = s.gated_mlp ? 2 : 1;
  const double share = moe_share(s);
  std::vector<Operation> ops;
  if (load.rows == 0) return ops;  // no token reaches this rank's experts
  ops.push_back(with_share(grouped(OpKind::kExpertUp, load.rows, gate * w, h,
                                   load.active_experts, p), share));
  ops.push_back(with_share(elementwise(OpKind::kExpertAct, LayerStage::kPostAttention, load.rows,
                                       w, gate, s.gated_mlp ? 6 : 8, 0, p),
                           share));
  ops.push_back(with_share(grouped(OpKind::kExpertDown, load.rows, h, w, load.active_experts, p),
                           share));
  return ops;
}

void mixture_mlp_ops(std::vector<Operation>& out, const LlmSpec& s, std::int64_t tokens,
                     const DecomposeOptions& o) {
  const Precision& p = o.precision;
  const std::int64_t tp = o.tensor_parallel;
  const double share = moe_share(s);
  if (share < 1.0) mlp(out, s, tokens, (s.intermediate_size + tp - 1) / tp, 1.0 - share, p);
  const std::int64_t e = s.moe.experts;
  out.push_back(with_share(gemm(OpKind::kRouter, LayerStage::kPostAttention, tokens, e,
                                s.hidden_size, p), share));
  // Softmax over the logits (exp, sum, divide) and a top-k selection pass.
  out.push_back(with_share(elementwise(OpKind::kRouterTopK, LayerStage::kPostAttention, tokens,
                                       e, 1, 5, 0, p), share));
  if (s.moe.shared_experts > 0) {
    const std::int64_t width = s.moe.shared_experts * s.moe.shared_intermediate;
    mlp(out, s, tokens, (width + tp - 1) / tp, share, p);
  }
  for (const Operation& op : routed_expert_ops(s, tokens, o)) out.push_back(op);
}

bool is_routed_expert(const Operation& op) {
  return op.kind == OpKind::kExpertUp || op.kind == OpKind::kExpertAct ||
         op.kind == OpKind::kExpertDown;
}

}  // namespace kvsim
