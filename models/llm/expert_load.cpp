#include "models/llm/expert_load.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

namespace kvsim {
namespace {

std::vector<double> normalised(std::vector<double> w) {
  const double sum = std::accumulate(w.begin(), w.end(), 0.0);
  for (double& x : w) x /= sum;
  return w;
}

// Zipf over a random order of the experts: the r-th most popular (from 1) weighs 1 / r^skew.
// Which expert is hot is drawn from the seed, so it may sit on any expert-parallel rank.
std::vector<double> zipf_shares(std::int64_t experts, double skew, RandomEngine& random) {
  std::vector<std::int64_t> rank(static_cast<std::size_t>(experts));
  std::iota(rank.begin(), rank.end(), 1);
  // Fisher-Yates with our own index draws (std::shuffle's use of the engine is unspecified).
  for (std::size_t i = rank.size(); i > 1; --i) {
    std::swap(rank[i - 1], rank[random() % i]);
  }
  std::vector<double> w;
  for (const std::int64_t r : rank) w.push_back(std::pow(static_cast<double>(r), -skew));
  return normalised(std::move(w));
}

// Dirichlet(alpha, ..., alpha) as normalised Gamma(alpha, 1) draws: small alpha concentrates
// the routing on a few experts, large alpha approaches the even spread.
std::vector<double> dirichlet_shares(std::int64_t experts, double alpha, RandomEngine& random) {
  std::gamma_distribution<double> gamma(alpha, 1.0);
  std::vector<double> w;
  for (std::int64_t e = 0; e < experts; ++e) w.push_back(std::max(gamma(random), 1e-300));
  return normalised(std::move(w));
}

ExpertLoadRegistry make_registry() {
  ExpertLoadRegistry r("expert_load",
                       "how a mixture-of-experts router spreads tokens over the experts "
                       "(scenario \"expert_load\"; drawn once from the seed)");
  r.add("uniform", "every expert receives the same share of the tokens (the balanced ideal)", {},
        [](const ConfigNode&, std::int64_t experts, const RandomStreams&) {
          return ExpertLoad{Json{{"type", "uniform"}},
                            std::vector<double>(static_cast<std::size_t>(experts),
                                                1.0 / static_cast<double>(experts))};
        });
  r.add("zipf", "Zipf-skewed popularity over a seeded random order of the experts",
        {{"skew", "number", "1.0", "exponent s: the r-th most popular expert weighs 1/r^s "
                                   "(0: uniform; 0 to 10)"}},
        [](const ConfigNode& n, std::int64_t experts, const RandomStreams& streams) {
          const double s = n.number_or("skew", 1.0, 0.0, 10.0);
          RandomEngine random = streams.stream("expert_load/zipf");
          return ExpertLoad{Json{{"type", "zipf"}, {"skew", s}},
                            zipf_shares(experts, s, random)};
        });
  r.add("dirichlet", "shares drawn from a symmetric Dirichlet distribution",
        {{"concentration", "number", "1.0",
          "alpha (1e-3 to 1e6): small concentrates tokens on few experts, large is near even"}},
        [](const ConfigNode& n, std::int64_t experts, const RandomStreams& streams) {
          const double a = n.number_or("concentration", 1.0, 1e-3, 1e6);
          RandomEngine random = streams.stream("expert_load/dirichlet");
          return ExpertLoad{Json{{"type", "dirichlet"}, {"concentration", a}},
                            dirichlet_shares(experts, a, random)};
        });
  return r;
}

// Expected tokens per expert: T x k x share, capped at T with the excess spread over the
// uncapped experts in proportion to their shares (at most `experts` rounds).
std::vector<double> capped_expectation(std::span<const double> shares, double tokens,
                                       double total) {
  std::vector<double> out(shares.size(), 0.0);
  std::vector<bool> capped(shares.size(), false);
  double left = total;
  for (std::size_t round = 0; round <= shares.size() && left > 0; ++round) {
    double weight = 0;
    for (std::size_t e = 0; e < shares.size(); ++e) weight += capped[e] ? 0 : shares[e];
    if (weight <= 0) break;
    bool any = false;
    for (std::size_t e = 0; e < shares.size(); ++e) {
      if (capped[e]) continue;
      out[e] = left * shares[e] / weight;
      if (out[e] > tokens) any = true;
    }
    if (!any) break;
    left = total;
    for (std::size_t e = 0; e < shares.size(); ++e) {
      if (out[e] >= tokens) capped[e] = true;
      if (capped[e]) {
        out[e] = tokens;
        left -= tokens;
      }
    }
  }
  return out;
}

}  // namespace

const ExpertLoadRegistry& expert_loads() {
  static const ExpertLoadRegistry registry = make_registry();
  return registry;
}

std::vector<std::int64_t> expert_tokens(std::span<const double> shares, std::int64_t tokens,
                                        std::int64_t per_token) {
  const std::int64_t total = tokens * per_token;
  const std::vector<double> expected = capped_expectation(
      shares, static_cast<double>(tokens), static_cast<double>(total));
  std::vector<std::int64_t> out;
  std::vector<std::pair<double, std::size_t>> remainders;
  std::int64_t assigned = 0;
  for (std::size_t e = 0; e < expected.size(); ++e) {
    const auto whole = static_cast<std::int64_t>(std::floor(expected[e]));
    out.push_back(std::min(whole, tokens));
    assigned += out.back();
    remainders.emplace_back(expected[e] - static_cast<double>(whole), e);
  }
  // Largest remainder first; ties in bit-reversed expert order, which spreads the leftovers of
  // an even load over any contiguous split of the experts (expert-parallel ranks) instead of
  // piling them on the first rank. Skip experts already at T.
  const int bits = static_cast<int>(std::bit_width(expected.size()));
  const auto reversed = [bits](std::size_t e) {
    std::size_t r = 0;
    for (int b = 0; b < bits; ++b) r |= ((e >> b) & 1u) << (bits - 1 - b);
    return r;
  };
  std::stable_sort(remainders.begin(), remainders.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return reversed(a.second) < reversed(b.second);
  });
  for (std::size_t i = 0; assigned < total && !remainders.empty();
       i = (i + 1) % remainders.size()) {
    const std::size_t e = remainders[i].second;
    if (out[e] < tokens) {
      ++out[e];
      ++assigned;
    }
  }
  return out;
}

}  // namespace kvsim
