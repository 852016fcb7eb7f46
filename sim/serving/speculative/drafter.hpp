#pragma once
// Drafters for speculative decoding (registry family "drafter"): what proposes the k tokens
// the target model verifies in one pass, what each draft step costs, and what it holds in memory.
//
//   draft-model  a separate, smaller model of the catalog sharing the target's tokenizer, run
//                unsharded on the replica's first GPU ("shared") or on a GPU of its own
//                ("separate"); each draft step is one decode pass of it, and it prefills prompts;
//   eagle        an EAGLE/Medusa-style head: `layers` decoder layers of the target's shape plus
//                an input projection (2h -> h) and the target's LM head, sharded like the target;
//   mtp          DeepSeek-style multi-token-prediction modules: one per draft position, each a
//                decoder layer of the target's shape plus its projection, with the target's LM
//                head; module i drafts position i.
//
// Every drafter takes "k" (draft tokens per step), "acceptance" (acceptance.hpp) and
// "tree_width" (candidates per position: a full tree of that width and depth k, verified as
// 1 + w + ... + w^k tokens). Steps are k passes in turn (a tree's pass j drafts the w^j nodes
// of its depth), then one verify pass of the target.
//
// Who calls it: Speculation (serving, speculation.hpp) and kvsim run's decode step
// (spec_step.hpp). Units: Duration (ns) for time; bytes per GPU for memory.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "sim/core/registry.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/serving/communication.hpp"
#include "sim/serving/iteration_cost.hpp"
#include "sim/serving/speculative/acceptance.hpp"
#include "sim/serving/speculative/pass_cost.hpp"

namespace kvsim::serving::speculative {

/// One iteration's drafting work.
struct DraftWork {
  std::vector<std::pair<std::int64_t, std::int64_t>> prompts;  // (new tokens, KV after them)
  std::vector<std::int64_t> contexts;  // per decoding sequence: KV length at its first draft
  std::vector<std::int64_t> drafts;    // per decoding sequence: draft tokens it proposes
};

/// What the drafter adds to each GPU of a target replica, and how many GPUs of its own it needs.
struct DrafterMemory {
  double weight_bytes = 0;        // per GPU of the replica (the fullest one)
  double kv_bytes_per_token = 0;  // per GPU, per token of a sequence's context
  int own_gpus = 0;               // GPUs a replica's drafter needs beside the replica's
};

class Drafter {
 public:
  Drafter(Acceptance acceptance, std::int64_t k, std::int64_t tree_width, Json resolved)
      : acceptance_(std::move(acceptance)), k_(k), width_(tree_width),
        resolved_(std::move(resolved)) {}
  virtual ~Drafter() = default;

  std::int64_t k() const { return k_; }
  std::int64_t tree_width() const { return width_; }
  const Acceptance& acceptance() const { return acceptance_; }
  /// Tokens the target verifies for a sequence proposing `drafts`: 1 + w + ... + w^drafts.
  std::int64_t verify_tokens(std::int64_t drafts) const;
  /// Rows of a sequence's draft pass at depth `j` (0-based): the tree's w^j frontier nodes.
  std::int64_t rows_at_depth(std::int64_t j) const;

  /// The draft passes of `work` on a replica whose tensor-parallel ranks are `gpus`.
  Duration draft_time(const DraftWork& work, const std::vector<int>& gpus,
                      Communication& comm) const;
  /// Per GPU of a replica of `tensor_parallel` GPUs.
  virtual DrafterMemory memory(std::int64_t tensor_parallel) const = 0;
  virtual const char* name() const = 0;
  Json to_json() const { return resolved_; }

 protected:
  /// One draft pass over `shape`'s rows and a tree's frontier `chunks` (one batched kernel).
  virtual Duration pass(const IterationShape& shape, std::span<const Chunk> chunks,
                        const std::vector<int>& gpus, Communication& comm) const = 0;

 private:
  Acceptance acceptance_;
  std::int64_t k_;
  std::int64_t width_;
  Json resolved_;
};

/// Most draft tokens per step, and most tokens a tree verifies per sequence.
inline constexpr std::int64_t kMaxDrafts = 64;
inline constexpr std::int64_t kMaxTreeTokens = 1024;

using DrafterRegistry = Registry<std::unique_ptr<Drafter>, const Scenario&>;
const DrafterRegistry& drafters();

}  // namespace kvsim::serving::speculative
