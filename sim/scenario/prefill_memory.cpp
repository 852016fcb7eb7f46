#include "sim/scenario/prefill_memory.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>

namespace kvsim {
namespace {

std::string strategy_pointer(std::size_t index) {
  return fmt::format("/prefill/strategies/{}", index);
}

}  // namespace

void check_prefill_memory(const ConfigNode& prefill, const Scenario& s) {
  const prefill::PrefillSetup setup = s.prefill_setup();
  const prefill::MemoryCapacity capacity = s.memory_capacity();
  for (std::size_t i = 0; i < s.prefill->strategies.size(); ++i) {
    const auto& strategy = *s.prefill->strategies[i];
    prefill::MemoryPlan plan;
    try {  // a layout the prompt cannot fill (ring: fewer new tokens than chunks)
      plan = strategy.memory_plan(setup);
    } catch (const std::invalid_argument& e) {
      throw InputError(prefill.file(), strategy_pointer(i),
                       fmt::format("{}: {}", strategy.label(), e.what()));
    }
    const std::string why = prefill::memory_overflow(plan, capacity);
    if (why.empty()) continue;
    throw InputError(prefill.file(), strategy_pointer(i),
                     fmt::format("{} {}", strategy.label(), why));
  }
}

CheckedPrefill run_checked(const Scenario& s, std::size_t index, bool record_trace) {
  const prefill::PrefillSetup setup = s.prefill_setup();
  const auto& strategy = *s.prefill->strategies.at(index);
  prefill::PrefillResult result = strategy.run(setup, record_trace);
  prefill::MemoryPlan memory = strategy.memory_of_run(setup, result);
  const std::string why = prefill::memory_overflow(memory, s.memory_capacity());
  if (!why.empty()) {
    throw InputError(s.file, strategy_pointer(index),
                     fmt::format("{} with the partition it chose ({} tokens) {}; a fixed "
                                 "partition with fewer tokens on that GPU may fit",
                                 strategy.label(), fmt::join(result.partition, "/"), why));
  }
  return {std::move(result), std::move(memory)};
}

std::vector<CheckedPrefill> run_prefill(const Scenario& s, bool record_trace) {
  std::vector<CheckedPrefill> out;
  for (std::size_t i = 0; i < s.prefill->strategies.size(); ++i) {
    out.push_back(run_checked(s, i, record_trace));
  }
  return out;
}

}  // namespace kvsim
