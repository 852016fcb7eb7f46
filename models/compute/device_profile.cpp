// DeviceProfile: a GPU's fitted kernel costs as a document (shape keys, JSON in and out, the
// shipped profiles by name). CalibratedModel (calibrated.cpp) prices operations from one.
#include "models/compute/calibrated.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>

#include <fmt/format.h>

#include "models/catalog/catalog.hpp"
#include "models/compute/packed_profiles.hpp"

namespace kvsim {

const std::vector<std::string> kElementwiseFeatures{"launch_s", "s_per_byte"};

namespace {

// A point [tokens, seconds] read through ConfigNode: its checks and its errors.
MeasuredPoint checked_point(const ConfigNode& pt) {
  const auto pair = pt.elements();
  if (pair.size() != 2) pt.fail("a point is [tokens, seconds]");
  return {pair[0].as_integer(), pair[1].as_number()};
}

// A table's points. A shipped profile has tens of thousands, and a ConfigNode per value (its
// file name, JSON pointer and key set) made loading a profile cost more than simulating 10,000
// requests; so a well-formed point, [an integer of at most 2^62, a finite number], is read from
// the JSON directly (the values checked_point would return), and any other goes through
// checked_point, whose error names the point.
std::vector<MeasuredPoint> read_points(const ConfigNode& points) {
  const Json& all = points.json();
  if (!all.is_array()) (void)points.elements();  // the usual "expected an array" error
  std::vector<MeasuredPoint> pts;
  pts.reserve(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Json& pt = all[i];
    if (pt.is_array() && pt.size() == 2) {
      const Json& m = pt[0];
      const Json& seconds = pt[1];
      const bool integer = m.is_number_unsigned() ? m.get<std::uint64_t>() <= (1ULL << 62)
                                                  : m.is_number_integer();
      if (integer && seconds.is_number() && std::isfinite(seconds.get<double>())) {
        pts.push_back({m.get<std::int64_t>(), seconds.get<double>()});
        continue;
      }
    }
    const ConfigNode node(&pt, points.file(), Json::json_pointer(points.pointer()) / i);
    pts.push_back(checked_point(node));
  }
  return pts;
}

// Every operation kind, in enum order.
const std::vector<OpKind>& op_kinds() {
  static const std::vector<OpKind> kinds = [] {
    std::vector<OpKind> k;
    for (int i = 0; i <= static_cast<int>(OpKind::kSampling); ++i) k.push_back(OpKind(i));
    return k;
  }();
  return kinds;
}

// A table's shape: {"gemm": {"n", "k"}} or {"elementwise": {"kind", "bytes_per_token"}}.
ShapeKey table_key(const ConfigNode& t) {
  if (const auto g = t.find("gemm")) {
    const ShapeKey key{OpClass::kGemm, OpKind::kQkvProj, g->count("n"), g->count("k")};
    g->finish();
    return key;
  }
  const ConfigNode e = t.at("elementwise");
  const std::vector<OpKind>& kinds = op_kinds();
  std::vector<std::string> names;
  for (const OpKind k : kinds) names.push_back(to_string(k));
  const std::string kind = e.at("kind").as_one_of(names);
  ShapeKey key;
  key.op_class = OpClass::kElementwise;
  key.kind = kinds[static_cast<std::size_t>(std::find(names.begin(), names.end(), kind) -
                                            names.begin())];
  key.a = e.count("bytes_per_token");
  e.finish();
  return key;
}

// The "tables" array. With `packed` (the node is a packed profile's skeleton, whose "points" are
// all empty), table i's points are the packed ones, the values read_points would read from the
// full text; a skeleton that does not match its packed points is a build fault, not an input error.
std::map<ShapeKey, std::vector<MeasuredPoint>> read_tables(const ConfigNode& tables,
                                                           const PackedProfile* packed) {
  const std::vector<ConfigNode> all = tables.elements();
  if (packed && packed->ends.size() != all.size()) {
    throw std::logic_error("packed profile " + std::string(packed->name) + ": table count");
  }
  std::map<ShapeKey, std::vector<MeasuredPoint>> out;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const ConfigNode& t = all[i];
    const ShapeKey key = table_key(t);
    std::vector<MeasuredPoint> pts;
    if (packed) {
      if (t.at("points").size() != 0) {
        throw std::logic_error("packed profile " + std::string(packed->name) + ": points");
      }
      const std::size_t begin = i == 0 ? 0 : packed->ends[i - 1];
      pts.assign(packed->points.begin() + static_cast<std::ptrdiff_t>(begin),
                 packed->points.begin() + static_cast<std::ptrdiff_t>(packed->ends[i]));
    } else {
      pts = read_points(t.at("points"));
    }
    std::sort(pts.begin(), pts.end(),
              [](const MeasuredPoint& a, const MeasuredPoint& b) { return a.m < b.m; });
    t.finish();
    out[key] = std::move(pts);
  }
  return out;
}

}  // namespace

std::optional<ShapeKey> ShapeKey::of(const Operation& op) {
  if (op.rows <= 0) return std::nullopt;
  if (op.op_class == OpClass::kGemm) {
    return ShapeKey{OpClass::kGemm, OpKind::kQkvProj, op.gemm.n, op.gemm.k};
  }
  if (op.op_class == OpClass::kElementwise) {
    // Per-token activation bytes: weights (a norm's scale) do not grow with the tokens.
    return ShapeKey{OpClass::kElementwise, op.kind,
                    std::llround((op.bytes() - op.weight_bytes) / static_cast<double>(op.rows)),
                    0};
  }
  return std::nullopt;
}

std::string ShapeKey::describe() const {
  if (op_class == OpClass::kGemm) return fmt::format("gemm n={} k={}", a, b);
  return fmt::format("{} {} B/token", to_string(kind), a);
}

Json DeviceProfile::to_json() const {
  Json tables_json = Json::array();
  for (const auto& [key, pts] : tables) {
    Json points = Json::array();
    for (const auto& p : pts) points.push_back({p.m, p.seconds});
    Json t{{"points", points}};
    if (key.op_class == OpClass::kGemm) {
      t["gemm"] = {{"n", key.a}, {"k", key.b}};
    } else {
      t["elementwise"] = {{"kind", to_string(key.kind)}, {"bytes_per_token", key.a}};
    }
    tables_json.push_back(t);
  }
  Json out{{"kind", "kvsim-device-profile"},
           {"version", 1},
           {"name", name},
           {"gpu", gpu},
           {"provenance", provenance},
           {"tables", tables_json},
           {"attention_range", attention_range},
           {"report", report}};
  if (gemm) {
    out["gemm_fit"] = gemm->to_json();
  }
  if (elementwise) out["elementwise_fit"] = elementwise->to_json(kElementwiseFeatures);
  Json by_kind = Json::object();
  for (const auto& [kind, fit] : elementwise_by_kind) {
    by_kind[to_string(kind)] = fit.to_json(kElementwiseFeatures);
  }
  if (!by_kind.empty()) out["elementwise_fits_by_kind"] = by_kind;
  if (attention_prefill) out["attention_prefill_fit"] = attention_prefill->to_json();
  if (attention_decode) out["attention_decode_fit"] = attention_decode->to_json();
  return out;
}

DeviceProfile DeviceProfile::from_json(const ConfigNode& n, const PackedProfile* packed) {
  if (n.string("kind") != "kvsim-device-profile") {
    n.at("kind").fail("not a kvsim device profile (make one with kvsim calibrate)");
  }
  (void)n.find("version");
  DeviceProfile p;
  p.name = n.string("name");
  p.gpu = n.string("gpu");
  if (const auto v = n.find("provenance")) p.provenance = v->json();
  if (const auto v = n.find("report")) p.report = v->json();
  if (const auto v = n.find("attention_range")) p.attention_range = v->json();
  p.tables = read_tables(n.at("tables"), packed);
  if (const auto g = n.find("gemm_fit")) {
    p.gemm = GemmFit::from_json(*g);
  }
  if (const auto e = n.find("elementwise_fit")) {
    p.elementwise = LinearFit::from_json(*e, kElementwiseFeatures);
  }
  if (const auto e = n.find("elementwise_fits_by_kind")) {
    const std::vector<OpKind>& kinds = op_kinds();
    std::vector<std::string> names;
    for (const OpKind k : kinds) names.push_back(to_string(k));
    for (const auto& [key, value] : e->json().items()) {
      const ConfigNode f = e->at(key);
      const auto at = std::find(names.begin(), names.end(), key);
      if (at == names.end()) f.fail(fmt::format("unknown operation; {}", valid_values_hint(key, names)));
      p.elementwise_by_kind[kinds[static_cast<std::size_t>(at - names.begin())]] =
          LinearFit::from_json(f, kElementwiseFeatures);
    }
  }
  if (const auto a = n.find("attention_prefill_fit")) {
    p.attention_prefill = AttentionGridFit::from_json(*a);
  }
  if (const auto a = n.find("attention_decode_fit")) {
    p.attention_decode = AttentionGridFit::from_json(*a);
  }
  n.finish();
  return p;
}

const LinearFit* DeviceProfile::elementwise_fit(OpKind kind) const {
  const auto it = elementwise_by_kind.find(kind);
  if (it != elementwise_by_kind.end()) return &it->second;
  return elementwise ? &*elementwise : nullptr;
}

namespace {
bool is_packed(const std::string& name) {
  const auto all = packed_profiles();
  return std::any_of(all.begin(), all.end(), [&](const PackedProfile& p) { return p.name == name; });
}
}  // namespace

std::vector<std::string> shipped_profiles() {
  std::vector<std::string> out;
  for (const std::string& name : catalog::profile_names()) {
    if (is_packed(name)) {  // packed: a device profile, known without parsing it
      out.push_back(name);
      continue;
    }
    const ConfigDocument doc = catalog::profile_document(name);
    if (doc.json().value("kind", "") == "kvsim-device-profile") out.push_back(name);
  }
  return out;
}

std::optional<DeviceProfile> packed_device_profile(const std::string& name) {
  for (const PackedProfile& p : packed_profiles()) {
    if (p.name != name) continue;
    // The file name the full text is read under (catalog.cpp), so errors read the same.
    const ConfigDocument doc = ConfigDocument::parse(
        std::string(p.skeleton), "calibration/profiles/" + name + ".json");
    return DeviceProfile::from_json(doc.root(), &p);
  }
  return std::nullopt;
}

DeviceProfile shipped_profile(const std::string& name) {
  if (auto packed = packed_device_profile(name)) return std::move(*packed);
  const ConfigDocument doc = catalog::profile_document(name);
  return DeviceProfile::from_json(doc.root());
}

}  // namespace kvsim
