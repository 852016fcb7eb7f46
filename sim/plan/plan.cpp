// The two phases of a plan (see plan.hpp).
#include "sim/plan/plan.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"
#include "sim/sweep/sweep.hpp"

namespace kvsim::plan {
namespace {

// Layouts differing only in replicas, KV block size and preemption: one family.
std::string family_key(const Candidate& c) {
  Json key = c.to_json();
  for (const char* differs :
       {"index", "replicas", "gpus", "cost_per_hour", "block_size", "preemption"}) {
    key.erase(differs);
  }
  return key.dump();
}

std::vector<std::vector<std::size_t>> families(const Screened& s) {
  std::vector<std::vector<std::size_t>> groups;
  std::map<std::string, std::size_t> by_key;  // the group of each key
  for (const std::size_t i : s.survivors) {
    const auto [at, added] = by_key.try_emplace(family_key(s.candidates[i]), groups.size());
    if (added) groups.emplace_back();
    groups[at->second].push_back(i);
  }
  return groups;
}

}  // namespace

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
  out.groups = families(out);
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

std::string evaluate_group(const PlanSpec& spec, const Screened& screened, std::size_t g) {
  std::vector<Survivor> group;
  for (const std::size_t i : screened.groups.at(g)) {
    group.push_back({&screened.candidates[i], &screened.screenings[i]});
  }
  Json results = Json::array();
  for (const std::string& r : evaluate_family(spec, group)) results.push_back(Json::parse(r));
  return results.dump();
}

std::vector<Json> evaluations_from(const Screened& screened,
                                   const std::vector<std::string>& results) {
  std::vector<Json> out(screened.candidates.size());
  for (std::size_t g = 0; g < results.size(); ++g) {
    const Json members = Json::parse(results[g]);
    const std::vector<std::size_t>& group = screened.groups.at(g);
    for (std::size_t k = 0; k < group.size(); ++k) {
      out[group[k]] = members.at(k);
    }
  }
  return out;
}

std::vector<Json> evaluate_all(const PlanSpec& spec, const Screened& screened,
                               const std::function<void(std::size_t done)>& done) {
  std::atomic<std::size_t> finished{0};
  std::mutex report;
  const auto evaluate = [&](std::size_t i) {
    std::string result = evaluate_group(spec, screened, i);
    const std::size_t n = ++finished;
    if (done) {
      const std::lock_guard lock(report);
      done(n);
    }
    return result;
  };
  return evaluations_from(screened, evaluate_candidates(screened.groups.size(), evaluate));
}

}  // namespace kvsim::plan
