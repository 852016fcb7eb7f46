#pragma once
// Stopping a serving simulation as soon as its SLOs are certainly missed: the observer of each
// finished request (serving::ServingObservers::request) throws SloCertainlyMissed once no
// outcome of the remaining requests could meet a limit.
//
// It counts finished requests that certainly break a limit (beyond 1% over it: serving's
// histogram percentiles are within 0.39% of the sample at their rank). With N requests in the
// workload and c <= N samples, a percentile q is missed once more than N - ceil(q N) samples
// exceed the limit (c - ceil(q c) grows with c); a mean once the samples' sum exceeds the
// limit x N; the attainment share once more than N (1 - share) requests miss their targets. A
// run that rejects a request misses its SLOs anyway, so N may count it. ITL limits are not
// watched. Who calls it: the plan's simulations (evaluation.cpp), one watch per run.

#include <cstdint>
#include <string>
#include <vector>

#include "sim/plan/plan_spec.hpp"
#include "sim/serving/engine.hpp"

namespace kvsim::plan {

/// Thrown by SloWatch::finished to stop a simulation whose SLOs are already certainly missed.
struct SloCertainlyMissed {
  std::string what;  // "ttft_p99: 21 of 2000 requests over 2 s"
};

class SloWatch {
 public:
  SloWatch(const PlanSpec& spec, std::uint64_t requests)
      : spec_(spec), n_(static_cast<double>(requests)), bad_(spec.slo.limits.size(), 0.0) {}

  /// One more finished request; throws SloCertainlyMissed once a limit cannot be met.
  void finished(const serving::RequestRecord& q);

 private:
  const PlanSpec& spec_;
  double n_;
  std::vector<double> bad_;  // per limit: samples over it, or the sum of samples (mean)
  double missed_attainment_ = 0;
};

}  // namespace kvsim::plan
