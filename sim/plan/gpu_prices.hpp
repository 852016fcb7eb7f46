#pragma once
// Default prices per GPU-hour for the catalog GPUs a plan may name without a price of its own.
// A plan's "price_per_hour" overrides them; a GPU without a default needs one (InputError).
// Prices are rental list prices on one date from one source, stated beside each: they move
// month to month, so a planner with real quotes should give them.
// Who calls it: load_plan (sim/plan/plan_spec.cpp).

#include <optional>
#include <string>

namespace kvsim::plan {

struct GpuPrice {
  double usd_per_hour = 0;  // per GPU
  std::string source;       // where and when
};

/// The default price of catalog GPU `name`, if kvsim has one.
std::optional<GpuPrice> default_gpu_price(const std::string& name);

}  // namespace kvsim::plan
