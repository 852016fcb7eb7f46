#include "sim/serving/arrival_times.hpp"

#include <cmath>

#include <fmt/format.h>

namespace kvsim::serving {

std::vector<double> read_arrival_times(const ConfigNode& arrivals) {
  const ConfigNode list = arrivals.at("seconds");
  std::vector<double> times;
  for (const ConfigNode& t : list.elements()) {
    const double s = t.as_number();  // finite, or it names the entry
    if (s < 0) t.fail(fmt::format("an arrival time cannot be negative, got {} s", s));
    if (!times.empty() && s < times.back()) {
      t.fail(fmt::format("arrival times must not decrease: {} s follows {} s", s, times.back()));
    }
    times.push_back(s);
  }
  if (times.empty()) list.fail("give at least one arrival time (seconds)");
  return times;
}

}  // namespace kvsim::serving
