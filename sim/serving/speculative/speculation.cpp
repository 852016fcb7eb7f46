#include "sim/serving/speculative/speculation.hpp"

#include <algorithm>
#include <cmath>

namespace kvsim::serving::speculative {

std::int64_t Speculation::drafts(const Sequence& s) const {
  const std::int64_t remaining = s.request.output - s.generated;
  return std::clamp<std::int64_t>(remaining - 1, 0, drafter_->k());
}

Duration Speculation::draft_time(const ReplicaState& state, const Batch& batch,
                                 const std::vector<int>& gpus, Communication& comm) const {
  DraftWork work;
  for (const auto& [slot, tokens] : batch.prefills) {
    work.prompts.emplace_back(tokens, state.pool[slot].cached + tokens);
  }
  for (const Slot slot : batch.decodes) {
    const Sequence& s = state.pool[slot];
    work.contexts.push_back(s.cached + 1);
    work.drafts.push_back(drafts(s));
  }
  return drafter_->draft_time(work, gpus, comm);
}

std::int64_t Speculation::accept(const Sequence& s) {
  const std::int64_t d = drafts(s);
  const std::int64_t n = drafter_->acceptance().draw(seed_, s.request.id, s.generated, d);
  ++steps_;
  tokens_ += static_cast<std::uint64_t>(n + 1);
  proposed_ += static_cast<std::uint64_t>(d);
  accepted_ += static_cast<std::uint64_t>(n);
  if (d == drafter_->k()) {
    ++full_steps_;
    full_tokens_ += static_cast<std::uint64_t>(n + 1);
    full_tokens_squared_ += static_cast<double>((n + 1) * (n + 1));
  }
  return n;
}

Json Speculation::summary() const {
  const auto mean = [](std::uint64_t sum, std::uint64_t count) -> Json {
    if (count == 0) return nullptr;
    return static_cast<double>(sum) / static_cast<double>(count);
  };
  Json out{{"drafter", drafter_->to_json()},
           {"type", drafter_->name()},
           {"steps", steps_},
           {"mean_tokens_per_step", mean(tokens_, steps_)},
           {"full_steps", full_steps_},
           {"mean_acceptance_length", mean(full_tokens_, full_steps_)},
           {"expected_acceptance_length", drafter_->acceptance().expected_tokens(drafter_->k())},
           {"draft_acceptance_rate", mean(accepted_, proposed_)}};
  // The sample standard error of mean_acceptance_length: sqrt(var / n).
  if (full_steps_ > 1) {
    const double n = static_cast<double>(full_steps_);
    const double m = static_cast<double>(full_tokens_) / n;
    const double var = (full_tokens_squared_ - n * m * m) / (n - 1);
    out["acceptance_length_standard_error"] = std::sqrt(std::max(0.0, var) / n);
  }
  return out;
}

}  // namespace kvsim::serving::speculative
