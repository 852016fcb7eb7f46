#pragma once
// Default prices per GPU-hour for catalog GPUs (the catalog layer: a price belongs to the GPU,
// not to one command). Prices are rental list prices on one date from one source, stated beside
// each: they move month to month, so a user with real quotes should give them. A caller's own
// price overrides them; a GPU without a default needs one (the caller says so).
// Who calls it: load_plan (sim/plan/plan_spec.cpp: a plan's "price_per_hour"), and disaggregated
// serving's pools (sim/serving/disaggregation/pools.cpp: "price_per_gpu_hour", the summary's
// cost_per_hour). Units: US dollars per GPU-hour.

#include <optional>
#include <string>

namespace kvsim {

struct GpuPrice {
  double usd_per_hour = 0;  // per GPU
  std::string source;       // where and when
};

/// The default price of catalog GPU `name`, if kvsim has one.
std::optional<GpuPrice> default_gpu_price(const std::string& name);

}  // namespace kvsim
