// CollectiveConfig's JSON form and the load-time warnings for using a fitted profile on a
// topology it was not measured on.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "models/catalog/catalog.hpp"
#include "sim/core/input_error.hpp"
#include "sim/network/collectives.hpp"

namespace kvsim::net {
namespace {

MeasuredOn read_measured_on(const ConfigNode& node) {
  MeasuredOn m;
  m.profile = node.string("profile");
  m.gpu = node.string("gpu");
  for (const ConfigNode& t : node.at("topologies").elements()) {
    MeasuredOn::Setup s;
    s.type = t.string("type");
    s.nodes = static_cast<int>(t.count_or("nodes", 1));
    for (const ConfigNode& g : t.at("gpus").elements()) {
      s.gpus.push_back(static_cast<int>(std::clamp<std::int64_t>(g.as_integer(), 1, 1 << 20)));
    }
    const std::string kind = t.one_of("link_kind", {"nvlink", "pcie", "network"});
    s.link_kind = kind == "nvlink" ? LinkKind::kNvlink
                  : kind == "pcie" ? LinkKind::kPcie
                                   : LinkKind::kNetwork;
    t.finish();
    m.topologies.push_back(std::move(s));
  }
  node.finish();
  return m;
}

Json measured_on_json(const MeasuredOn& m) {
  Json list = Json::array();
  for (const MeasuredOn::Setup& s : m.topologies) {
    list.push_back({{"type", s.type},
                    {"nodes", s.nodes},
                    {"gpus", s.gpus},
                    {"link_kind", to_string(s.link_kind)}});
  }
  return {{"profile", m.profile}, {"gpu", m.gpu}, {"topologies", list}};
}

// The kinds of the links that bottleneck GPU-to-GPU routes: from every GPU on up to 64 GPUs,
// from GPU 0 beyond (the presets are symmetric; routes cost a shortest-path search per source).
std::set<LinkKind> bottleneck_kinds(const Topology& t) {
  std::set<LinkKind> kinds;
  const int sources = t.gpu_count() <= 64 ? t.gpu_count() : 1;
  for (int a = 0; a < sources; ++a) {
    for (int b = 0; b < t.gpu_count(); ++b) {
      if (a != b) kinds.insert(t.gpu_route(a, b).bottleneck_kind);
    }
  }
  return kinds;
}

void warn_unmeasured_kinds(const Protocol& p, const std::string& profile,
                           const std::set<LinkKind>& kinds, std::vector<std::string>& out) {
  if (!p.per_link_efficiency()) return;
  for (const LinkKind k : kinds) {
    if (p.efficiency_by_link[static_cast<std::size_t>(k)] > 0) continue;
    out.push_back(fmt::format(
        "collectives: {} protocol '{}' was never measured on {} links, which are the slowest "
        "link of some routes here; those transfers use its lowest measured efficiency ({:.3f}), "
        "an assumption",
        profile, p.name, to_string(k), p.efficiency));
  }
}

void warn_beyond_table(const Protocol& p, const std::string& profile, int gpus,
                       std::vector<std::string>& out) {
  if (p.latency_by_gpus.empty()) return;
  const int low = p.latency_by_gpus.front().gpus;
  const int high = p.latency_by_gpus.back().gpus;
  if (gpus <= high && low <= 2) return;
  out.push_back(fmt::format(
      "collectives: {} protocol '{}' has its fixed cost measured on {}-{} GPUs; a collective "
      "among {} GPUs (this topology has {}) carries the cost per ring step of the nearest "
      "measured count (extrapolated)",
      profile, p.name, low, high, gpus > high ? fmt::format("more than {}", high)
                                              : fmt::format("fewer than {}", low),
      gpus));
}

// "collectives": NAME or {"profile": NAME or PATH}: the collectives of a shipped profile
// (calibration/profiles) or of a file calibrate-network wrote.
CollectiveConfig from_profile(const ConfigNode& field) {
  const ConfigDocument doc = catalog::shipped_or_file(field, "collective profile",
                                                      catalog::profile_names(),
                                                      catalog::profile_document);
  if (!doc.root().has("collectives")) {
    field.fail(fmt::format("'{}' is not a collective profile: it has no \"collectives\" (what "
                           "kvsim calibrate-network writes)",
                           field.as_string()));
  }
  return CollectiveConfig::from_config(doc.root().at("collectives"));
}

}  // namespace

std::vector<std::string> collective_warnings(const CollectiveConfig& config,
                                             const Topology& topology) {
  std::vector<std::string> out;
  if (topology.gpu_count() < 2) return out;
  const std::string profile = config.measured_on
                                  ? fmt::format("profile '{}':", config.measured_on->profile)
                                  : std::string("the scenario's");
  const std::set<LinkKind> kinds = bottleneck_kinds(topology);
  for (const Protocol& p : config.protocols) {
    warn_unmeasured_kinds(p, profile, kinds, out);
    warn_beyond_table(p, profile, topology.gpu_count(), out);
  }
  warn_unmeasured_kinds(config.point_to_point, profile, kinds, out);
  return out;
}

CollectiveConfig CollectiveConfig::from_config(const ConfigNode& node) {
  if (node.json().is_string()) return from_profile(node);
  if (node.json().is_object() && node.json().contains("profile")) {
    const ConfigNode field = node.at("profile");
    node.finish();
    return from_profile(field);
  }
  CollectiveConfig c;
  const std::string a =
      node.one_of_or("algorithm", "ring", {"ring", "tree", "direct", "mesh"});
  c.algorithm = a == "ring"     ? CollectiveAlgorithm::kRing
                : a == "tree"   ? CollectiveAlgorithm::kTree
                : a == "direct" ? CollectiveAlgorithm::kDirect
                                : CollectiveAlgorithm::kMesh;
  if (const auto protocols = node.find("protocols")) {
    c.protocols.clear();
    for (const ConfigNode& p : protocols->elements()) {
      c.protocols.push_back(Protocol::from_config(p, "simple"));
    }
    if (c.protocols.empty()) protocols->fail("needs at least one protocol");
  }
  if (const auto p = node.find("point_to_point")) {
    if (p->has("latency_by_gpus")) {
      p->at("latency_by_gpus").fail("a point-to-point message has two GPUs: give its fixed "
                                    "cost as step_latency");
    }
    c.point_to_point = Protocol::from_config(*p, "p2p");
  }
  if (const auto m = node.find("measured_on")) c.measured_on = read_measured_on(*m);
  node.finish();
  return c;
}

Json CollectiveConfig::to_json() const {
  Json list = Json::array();
  for (const Protocol& p : protocols) {
    Json j = p.to_json();
    j["name"] = p.name;
    list.push_back(j);
  }
  Json j{{"algorithm", to_string(algorithm)}, {"protocols", list}};
  const Protocol bare;
  if (point_to_point.step_latency != bare.step_latency ||
      point_to_point.efficiency != bare.efficiency || point_to_point.per_link_efficiency()) {
    j["point_to_point"] = point_to_point.to_json();
  }
  if (measured_on) j["measured_on"] = measured_on_json(*measured_on);
  return j;
}

}  // namespace kvsim::net
