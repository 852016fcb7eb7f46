// The two phases of a plan (see plan.hpp).
#include "sim/plan/plan.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/sweep/sweep.hpp"

namespace kvsim::plan {

Screened screen_all(const PlanSpec& spec) {
  const std::size_t n = spec.candidate_count();
  if (n > kMaxCandidates) {
    throw InputError(spec.file, "/search",
                     fmt::format("{} candidate layouts; at most {} (kMaxCandidates in "
                                 "sim/plan/plan.hpp): give fewer values on the axes",
                                 n, kMaxCandidates));
  }
  Screened out;
  out.stats = workload_stats(spec);
  out.candidates.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.candidates.push_back(candidate(spec, i));
  out.screenings.resize(n);
  sweep::for_each_point(
      n, [&](std::size_t i) { out.screenings[i] = screen(spec, out.stats, out.candidates[i]); },
      {});
  for (std::size_t i = 0; i < n; ++i) {
    if (!out.screenings[i].pruned()) out.survivors.push_back(i);
  }
  return out;
}

std::vector<std::string> layout_warnings(const Screened& screened) {
  std::vector<std::string> out;
  for (const Screening& s : screened.screenings) {
    for (const auto& w : s.warnings) {
      if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
    }
  }
  return out;
}

std::string evaluate_survivor(const PlanSpec& spec, const Screened& screened, std::size_t i) {
  const std::size_t index = screened.survivors.at(i);
  return evaluate_candidate(spec, screened.candidates[index], screened.screenings[index]);
}

std::vector<Json> evaluations_from(const Screened& screened,
                                   const std::vector<std::string>& results) {
  std::vector<Json> out(screened.candidates.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    out[screened.survivors.at(i)] = Json::parse(results[i]);
  }
  return out;
}

std::vector<Json> evaluate_all(const PlanSpec& spec, const Screened& screened,
                               const std::function<void(std::size_t done)>& done) {
  std::atomic<std::size_t> finished{0};
  std::mutex report;
  const auto evaluate = [&](std::size_t i) {
    std::string result = evaluate_survivor(spec, screened, i);
    const std::size_t n = ++finished;
    if (done) {
      const std::lock_guard lock(report);
      done(n);
    }
    return result;
  };
  return evaluations_from(screened, evaluate_candidates(screened.survivors.size(), evaluate));
}

}  // namespace kvsim::plan
