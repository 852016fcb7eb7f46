// Stopping a simulation once its SLOs are certainly missed (see slo_watch.hpp).
#include "sim/plan/slo_watch.hpp"

#include <cmath>
#include <optional>

#include <fmt/format.h>

namespace kvsim::plan {
namespace {

constexpr double kMargin = 1.01;

double quantile(const std::string& stat) {
  return stat == "p50" ? 0.5 : stat == "p90" ? 0.9 : 0.99;
}

}  // namespace

void SloWatch::finished(const serving::RequestRecord& q) {
  const double ttft = q.first_token - q.arrival;
  const double e2e = q.completion - q.arrival;
  const std::optional<double> tpot =
      q.output > 1 ? std::optional<double>((q.completion - q.first_token) /
                                           static_cast<double>(q.output - 1))
                   : std::nullopt;
  for (std::size_t i = 0; i < bad_.size(); ++i) {
    const SloLimit& l = spec_.slo.limits[i];
    const std::optional<double> v = l.metric == "ttft" ? std::optional<double>(ttft)
                                    : l.metric == "e2e" ? std::optional<double>(e2e)
                                    : l.metric == "tpot" ? tpot
                                                         : std::nullopt;
    if (!v) continue;
    if (l.stat == "mean") {
      bad_[i] += *v;
      if (bad_[i] > kMargin * l.seconds * n_) {
        throw SloCertainlyMissed{fmt::format("{}: the sum so far exceeds {:.4g} s x {} requests",
                                             l.key, l.seconds, n_)};
      }
    } else if (*v > kMargin * l.seconds && ++bad_[i] > n_ - std::ceil(quantile(l.stat) * n_)) {
      throw SloCertainlyMissed{
          fmt::format("{}: {} of {} requests over {:.4g} s", l.key, bad_[i], n_, l.seconds)};
    }
  }
  const SloSpec& a = spec_.slo;
  if (a.has_attainment() && ((a.ttft_s && ttft > kMargin * *a.ttft_s) ||
                             (a.tpot_s && tpot && *tpot > kMargin * *a.tpot_s))) {
    if (++missed_attainment_ > n_ * (1 - a.share)) {
      throw SloCertainlyMissed{fmt::format("attainment: {} of {} requests miss their targets",
                                           missed_attainment_, n_)};
    }
  }
}

}  // namespace kvsim::plan
