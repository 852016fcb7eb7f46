#include "sim/serving/speculative/acceptance.hpp"

#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace kvsim::serving::speculative {
namespace {

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A rate in [0, 1] at `n`.
double rate(const ConfigNode& n) {
  const double a = n.as_number();
  if (!(a >= 0 && a <= 1)) n.fail(fmt::format("an acceptance rate is from 0 to 1, got {}", a));
  return a;
}

// One class's per-position rates: a number (every position) or an array of `drafts` numbers;
// the tree's width applied to each.
std::vector<double> rates(const ConfigNode& n, std::int64_t drafts, std::int64_t width) {
  std::vector<double> out;
  if (n.json().is_array()) {
    if (static_cast<std::int64_t>(n.size()) != drafts) {
      n.fail(fmt::format("a per-position profile gives one rate per draft position: {} (the "
                         "drafter's \"k\"), got {}",
                         drafts, n.size()));
    }
    for (const ConfigNode& e : n.elements()) out.push_back(rate(e));
  } else {
    out.assign(static_cast<std::size_t>(drafts), rate(n));
  }
  // Any of `width` independent candidates accepted: 1 - (1 - a)^w.
  for (double& a : out) a = 1 - std::pow(1 - a, static_cast<double>(width));
  return out;
}

}  // namespace

double uniform_from_key(std::uint64_t key) {
  return static_cast<double>(splitmix(key) >> 11) * 0x1.0p-53;
}

Acceptance Acceptance::read(const ConfigNode& node, std::int64_t drafts, std::int64_t width) {
  Acceptance a;
  a.resolved_ = node.json();
  if (!node.json().is_object()) {
    a.classes_.push_back({1.0, rates(node, drafts, width)});
    return a;
  }
  const ConfigNode list = node.at("classes");
  if (!list.json().is_array() || list.size() == 0) {
    list.fail("a non-empty array of {\"share\": ..., \"acceptance\": ...}");
  }
  double total = 0;
  for (const ConfigNode& c : list.elements()) {
    const double share = c.number("share", 0, 1);
    a.classes_.push_back({share, rates(c.at("acceptance"), drafts, width)});
    total += share;
    c.finish();
  }
  node.finish();
  if (std::abs(total - 1) > 1e-9) {
    list.fail(fmt::format("the classes' shares must add up to 1, got {}", total));
  }
  return a;
}

std::size_t Acceptance::request_class(std::uint64_t seed, std::uint64_t id) const {
  const double u = uniform_from_key(splitmix(seed ^ 0x636c617373ULL) ^ id);  // "class"
  double cumulative = 0;
  for (std::size_t c = 0; c + 1 < classes_.size(); ++c) {
    cumulative += classes_[c].share;
    if (u < cumulative) return c;
  }
  return classes_.size() - 1;
}

std::int64_t Acceptance::draw(std::uint64_t seed, std::uint64_t id, std::int64_t generated,
                              std::int64_t drafts) const {
  const std::vector<double>& r = classes_[request_class(seed, id)].rates;
  const std::uint64_t step = splitmix(splitmix(seed) ^ id) ^ static_cast<std::uint64_t>(generated);
  for (std::int64_t i = 0; i < drafts; ++i) {
    const double u = uniform_from_key(splitmix(step) + static_cast<std::uint64_t>(i));
    if (u >= r[static_cast<std::size_t>(i)]) return i;
  }
  return drafts;
}

double Acceptance::expected_tokens(std::size_t c, std::int64_t drafts) const {
  double tokens = 1;  // the token the target samples after the accepted drafts
  double reach = 1;   // probability that positions 1..i are all accepted
  for (std::int64_t i = 0; i < drafts; ++i) {
    reach *= classes_[c].rates[static_cast<std::size_t>(i)];
    tokens += reach;
  }
  return tokens;
}

double Acceptance::expected_tokens(std::int64_t drafts) const {
  double sum = 0;
  for (std::size_t c = 0; c < classes_.size(); ++c) {
    sum += classes_[c].share * expected_tokens(c, drafts);
  }
  return sum;
}

}  // namespace kvsim::serving::speculative
