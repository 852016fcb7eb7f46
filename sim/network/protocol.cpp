#include "sim/network/protocol.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"

namespace kvsim::net {
namespace {

const std::vector<std::string>& link_kind_names() {
  static const std::vector<std::string> names{"nvlink", "pcie", "network"};
  return names;
}

std::string ns(Duration d) { return fmt::format("{}ns", d.count()); }

// [{"gpus": 2, "latency": "46us"}, ...]: counts of at least 2, strictly increasing.
std::vector<GpuLatency> read_latency_table(const ConfigNode& list) {
  std::vector<GpuLatency> table;
  for (const ConfigNode& e : list.elements()) {
    const std::int64_t gpus = e.count("gpus", 2);
    if (gpus > 1 << 20) e.at("gpus").fail("is more GPUs than kvsim models");
    if (!table.empty() && gpus <= table.back().gpus) {
      e.at("gpus").fail(fmt::format("GPU counts must increase strictly: {} follows {}", gpus,
                                    table.back().gpus));
    }
    table.push_back({static_cast<int>(gpus), e.at("latency").as_duration()});
    e.finish();
  }
  if (table.empty()) {
    list.fail("needs at least one {\"gpus\", \"latency\"} entry, e.g. [{\"gpus\": 2, "
              "\"latency\": \"40us\"}, {\"gpus\": 8, \"latency\": \"35us\"}]");
  }
  return table;
}

// A number for every link kind, or {"nvlink": x, ...} for some: the others take the lowest
// given (never more optimistic than a kind that was given).
void read_efficiency(const ConfigNode& node, Protocol& p) {
  if (!node.json().is_object()) {
    p.efficiency = node.as_number();
    if (!(p.efficiency >= 1e-3 && p.efficiency <= 1)) {
      node.fail(fmt::format("must be in [0.001, 1], got {}", p.efficiency));
    }
    return;
  }
  for (const auto& item : node.json().items()) {
    const std::string& key = item.key();
    const auto& names = link_kind_names();
    if (std::find(names.begin(), names.end(), key) == names.end()) {
      node.at(key).fail(fmt::format("unknown link kind '{}'; {}", key,
                                    valid_values_hint(key, names)));
    }
  }
  double lowest = 1;
  for (int k = 0; k < kLinkKinds; ++k) {
    const std::string& name = link_kind_names()[static_cast<std::size_t>(k)];
    if (!node.has(name)) continue;
    p.efficiency_by_link[static_cast<std::size_t>(k)] = node.number(name, 1e-3, 1.0);
    lowest = std::min(lowest, p.efficiency_by_link[static_cast<std::size_t>(k)]);
  }
  node.finish();
  if (!p.per_link_efficiency()) {
    node.fail("needs an efficiency for at least one link kind: nvlink, pcie or network");
  }
  p.efficiency = lowest;
}

}  // namespace

double Protocol::efficiency_on(LinkKind kind) const {
  const double e = efficiency_by_link[static_cast<std::size_t>(kind)];
  return e > 0 ? e : efficiency;
}

bool Protocol::per_link_efficiency() const {
  return std::any_of(efficiency_by_link.begin(), efficiency_by_link.end(),
                     [](double e) { return e > 0; });
}

double Protocol::efficiency_between(const Topology& topology, int from_gpu, int to_gpu) const {
  if (!per_link_efficiency()) return efficiency;
  return efficiency_on(topology.gpu_route(from_gpu, to_gpu).bottleneck_kind);
}

Duration Protocol::all_reduce_latency(int gpus) const {
  const auto above = std::lower_bound(
      latency_by_gpus.begin(), latency_by_gpus.end(), gpus,
      [](const GpuLatency& e, int g) { return e.gpus < g; });
  if (above != latency_by_gpus.end() && above->gpus == gpus) return above->latency;
  if (above == latency_by_gpus.begin() || above == latency_by_gpus.end()) {
    throw std::invalid_argument(fmt::format("{} GPUs is outside the latency table", gpus));
  }
  const GpuLatency& a = *(above - 1);
  const GpuLatency& b = *above;
  // Linear in the GPU count between the measured counts a and b, truncated to whole ns.
  return a.latency + Duration((b.latency - a.latency).count() * (gpus - a.gpus) /
                              (b.gpus - a.gpus));
}

Duration Protocol::fixed_cost(int steps, int gpus) const {
  if (steps == 0) return Duration{0};
  if (latency_by_gpus.empty()) return steps * step_latency;
  // Outside the measured counts the nearest one's cost per ring step is carried.
  const int ref = std::clamp(gpus, latency_by_gpus.front().gpus, latency_by_gpus.back().gpus);
  const std::int64_t ring_steps = 2 * (ref - 1);
  return Duration(all_reduce_latency(ref).count() * steps / ring_steps);
}

Protocol Protocol::from_config(const ConfigNode& node, const std::string& default_name) {
  Protocol p;
  p.name = node.string_or("name", default_name);
  const auto lat = node.find("step_latency");
  const auto table = node.find("latency_by_gpus");
  if (lat && table) {
    table->fail("give step_latency (a cost per step) or latency_by_gpus (a measured cost by GPU "
                "count), not both");
  }
  if (lat) p.step_latency = lat->as_duration();
  if (table) p.latency_by_gpus = read_latency_table(*table);
  if (const auto e = node.find("efficiency")) read_efficiency(*e, p);
  node.finish();
  return p;
}

Json Protocol::to_json() const {
  Json j = Json::object();
  if (latency_by_gpus.empty()) {
    j["step_latency"] = ns(step_latency);
  } else {
    Json table = Json::array();
    for (const GpuLatency& e : latency_by_gpus) {
      table.push_back({{"gpus", e.gpus}, {"latency", ns(e.latency)}});
    }
    j["latency_by_gpus"] = table;
  }
  if (!per_link_efficiency()) {
    j["efficiency"] = efficiency;
    return j;
  }
  Json by_kind = Json::object();
  for (int k = 0; k < kLinkKinds; ++k) {
    const double e = efficiency_by_link[static_cast<std::size_t>(k)];
    if (e > 0) by_kind[link_kind_names()[static_cast<std::size_t>(k)]] = e;
  }
  j["efficiency"] = by_kind;
  return j;
}

}  // namespace kvsim::net
