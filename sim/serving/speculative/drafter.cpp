// The drafting every drafter shares: tree sizes and the k draft passes of an iteration.
#include "sim/serving/speculative/drafter.hpp"

#include <algorithm>

#include "sim/serving/speculative/pass_cost.hpp"

namespace kvsim::serving::speculative {

std::int64_t Drafter::rows_at_depth(std::int64_t j) const {
  std::int64_t rows = 1;
  for (std::int64_t i = 0; i < j; ++i) rows *= width_;
  return rows;
}

std::int64_t Drafter::verify_tokens(std::int64_t drafts) const {
  std::int64_t tokens = 1;  // the token sampled last step, whose KV the target writes now
  for (std::int64_t j = 1; j <= drafts; ++j) tokens += rows_at_depth(j);
  return tokens;
}

// Pass j drafts depth j + 1 for every sequence proposing more than j tokens: a chain's one
// token at KV length context + j (a decode), or a tree's w^j frontier nodes, each offering w
// children (one batched kernel of w^j queries per sequence over its context and path). The
// first pass also runs the drafter over the iteration's prompt chunks (a draft model or head
// keeps its own KV).
Duration Drafter::draft_time(const DraftWork& work, const std::vector<int>& gpus,
                             Communication& comm) const {
  const std::int64_t deepest =
      work.drafts.empty() ? 0 : *std::max_element(work.drafts.begin(), work.drafts.end());
  Duration total{0};
  IterationShape shape;
  std::vector<Chunk> trees;
  for (std::int64_t j = 0; j < std::max<std::int64_t>(deepest, work.prompts.empty() ? 0 : 1);
       ++j) {
    shape.clear();
    trees.clear();
    const std::int64_t rows = rows_at_depth(j);
    for (std::size_t i = 0; i < work.contexts.size(); ++i) {
      if (work.drafts[i] <= j) continue;
      if (rows == 1) {
        shape.decodes.push_back(work.contexts[i] + j);
      } else {
        trees.emplace_back(rows, work.contexts[i] + j + rows);
      }
      shape.emitting += rows;
    }
    if (j == 0) {
      for (const auto& prompt : work.prompts) shape.prefills.push_back(prompt);
      shape.emitting += static_cast<std::int64_t>(work.prompts.size());
    }
    if (pass_rows(shape, trees) > 0) total += pass(shape, trees, gpus, comm);
  }
  return total;
}

}  // namespace kvsim::serving::speculative
