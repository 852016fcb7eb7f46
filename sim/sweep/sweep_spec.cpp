// Reading a sweep file: axes (plain, zipped, sampled from the seed), outputs, and the scenario
// document of each point. Running the points is in sweep.cpp.
#include "sim/sweep/sweep.hpp"

#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "sim/core/json_input.hpp"
#include "sim/core/random.hpp"

namespace kvsim::sweep {
namespace {

namespace fs = std::filesystem;

Json::json_pointer read_pointer(const ConfigNode& n) {
  const std::string text = n.as_string();
  try {
    return Json::json_pointer(text);
  } catch (const Json::exception&) {
    n.fail(fmt::format("'{}' is not a JSON pointer; write e.g. \"/prefill/context_tokens\"",
                       text));
  }
}

// A uniform double in [0, 1) from 53 random bits: the same on every standard library.
double unit_uniform(RandomEngine& random) {
  return static_cast<double>(random() >> 11) * 0x1.0p-53;
}

// One member of a sampled axis: draws a value per setting.
struct Sampler {
  std::string name;
  Json::json_pointer pointer;
  std::string distribution;
  double min = 0;
  double max = 0;
  std::vector<Json> choices;
  std::string unit;
  bool integer = false;

  Json draw(RandomEngine& random) const {
    const double u = unit_uniform(random);
    if (distribution == "choice") {
      return choices[std::min(choices.size() - 1,
                              static_cast<std::size_t>(u * static_cast<double>(choices.size())))];
    }
    double x = distribution == "log-uniform"
                   ? std::exp(std::log(min) + u * (std::log(max) - std::log(min)))
                   : min + u * (max - min);
    if (integer) x = std::round(x);
    if (!unit.empty()) return fmt::format("{:.6g}{}", x, unit);
    if (integer) return static_cast<std::int64_t>(x);
    return x;
  }
};

Sampler read_sampler(const ConfigNode& m) {
  Sampler s;
  s.name = m.string("name");
  s.pointer = read_pointer(m.at("pointer"));
  s.distribution = m.one_of("distribution", {"uniform", "log-uniform", "choice"});
  if (s.distribution == "choice") {
    for (const ConfigNode& v : m.at("values").elements()) s.choices.push_back(v.json());
    if (s.choices.empty()) m.at("values").fail("needs at least one value");
  } else {
    s.min = m.number("min", s.distribution == "log-uniform" ? 1e-300 : -1e300, 1e300);
    s.max = m.number("max", s.min, 1e300);
  }
  s.unit = m.string_or("unit", "");
  s.integer = m.boolean_or("integer", false);
  m.finish();
  return s;
}

Axis read_axis(const ConfigNode& a, std::size_t index, std::uint64_t seed) {
  Axis axis;
  if (a.has("sample")) {
    const std::int64_t count = a.count("sample");
    std::vector<Sampler> samplers;
    for (const ConfigNode& m : a.at("vary").elements()) samplers.push_back(read_sampler(m));
    if (samplers.empty()) a.at("vary").fail("needs at least one field to vary");
    a.finish();
    RandomEngine random = RandomStreams(seed).stream(fmt::format("sweep/axis{}", index));
    for (std::int64_t k = 0; k < count; ++k) {
      std::vector<Setting> point;
      for (const Sampler& s : samplers) point.push_back({s.name, s.pointer, s.draw(random), ""});
      axis.settings.push_back(std::move(point));
    }
    return axis;
  }
  std::vector<ConfigNode> members;
  if (a.has("zip")) {
    members = a.at("zip").elements();
    if (members.empty()) a.at("zip").fail("needs at least one member");
    a.finish();
  } else {
    members.push_back(a);
  }
  std::size_t length = 0;
  for (std::size_t m = 0; m < members.size(); ++m) {
    const ConfigNode& member = members[m];
    const std::string name = member.string("name");
    const Json::json_pointer pointer = read_pointer(member.at("pointer"));
    const std::vector<ConfigNode> values = member.at("values").elements();
    if (values.empty()) member.at("values").fail("needs at least one value");
    if (m == 0) {
      length = values.size();
      axis.settings.resize(length);
    } else if (values.size() != length) {
      member.at("values").fail(fmt::format("zipped lists must have the same length: this one "
                                           "has {} values, the first {}",
                                           values.size(), length));
    }
    std::vector<std::string> labels;
    if (const auto l = member.find("labels")) {
      for (const ConfigNode& v : l->elements()) labels.push_back(v.as_string());
      if (labels.size() != length) {
        l->fail(fmt::format("needs one label per value ({}), has {}", length, labels.size()));
      }
    }
    for (std::size_t k = 0; k < length; ++k) {
      axis.settings[k].push_back(
          {name, pointer, values[k].json(), labels.empty() ? "" : labels[k]});
    }
    member.finish();
  }
  return axis;
}


}  // namespace

const std::vector<std::pair<std::string, std::string>>& output_docs() {
  static const std::vector<std::pair<std::string, std::string>> docs{
      {"ttft_ms", "time to first token, ms"},
      {"speedup", "the baseline strategy's TTFT over this strategy's"},
      {"partition", "KV-Runahead tokens per process, space-separated"},
      {"fractions", "KV-Runahead share of the context per process, space-separated"},
      {"critical_compute_ms", "compute on the critical path, ms"},
      {"critical_communication_ms", "the rest of the critical path, ms"},
      {"link_bytes", "bytes carried by all links"},
      {"events", "events the simulation processed"}};
  return docs;
}

std::string Setting::text() const {
  if (!label.empty()) return label;
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::size_t SweepSpec::point_count() const {
  std::size_t n = 1;
  for (const Axis& a : axes) n *= a.settings.size();
  return n;
}

std::vector<Setting> SweepSpec::settings(std::size_t index) const {
  std::vector<std::size_t> position(axes.size());
  for (std::size_t a = axes.size(); a-- > 0;) {
    position[a] = index % axes[a].settings.size();
    index /= axes[a].settings.size();
  }
  std::vector<Setting> out;
  for (std::size_t a = 0; a < axes.size(); ++a) {
    for (const Setting& s : axes[a].settings[position[a]]) out.push_back(s);
  }
  return out;
}

ConfigDocument SweepSpec::document(std::size_t index) const {
  Json j = base;
  std::string where;
  const std::vector<Setting> point = settings(index);
  for (const Setting& s : point) {
    where += fmt::format("{}{}={}", where.empty() ? "" : ", ", s.name, s.text());
  }
  const std::string point_name =
      fmt::format("{} (sweep point {}: {})", base_file, index, where);
  for (const Setting& s : point) {
    // Checked like --set: a missing parent or a huge array index is named, never allocated.
    set_at_pointer(j, s.pointer.to_string(), s.value, point_name, /*may_create=*/true);
  }
  return ConfigDocument(std::move(j), point_name, fs::path(base_file).parent_path().string());
}

SweepSpec load_sweep(const ConfigDocument& document) {
  const ConfigNode root = document.root();
  SweepSpec spec;
  spec.file = document.name();
  spec.name = root.string_or("name", fs::path(spec.file).stem().string());
  const ConfigNode base = root.at("base");
  spec.base_file = base.resolve_path(base.as_string());
  std::error_code exists_error;  // a name the system refuses (too long) is "does not exist"
  if (!fs::exists(spec.base_file, exists_error)) {
    base.fail(fmt::format("base scenario '{}' does not exist (paths are relative to the sweep "
                          "file)",
                          spec.base_file));
  }
  spec.base = ConfigDocument::load_file(spec.base_file).json();
  if (const auto set = root.find("set")) {
    if (!set->json().is_object()) set->fail("must be an object of \"/pointer\": value");
    for (const auto& [key, value] : set->json().items()) {
      const ConfigNode entry = set->at(key);
      Json::json_pointer pointer;
      try {
        pointer = Json::json_pointer(key);
      } catch (const Json::exception&) {
        entry.fail(fmt::format("'{}' is not a JSON pointer", key));
      }
      try {
        // Checked like --set: a missing parent or a huge array index is named, never allocated.
        set_at_pointer(spec.base, key, value, spec.base_file, /*may_create=*/true);
      } catch (const InputError& e) {
        entry.fail(fmt::format("in the base scenario, {}", e.message()));
      }
    }
  }
  const auto seed = static_cast<std::uint64_t>(root.count_or("seed", 1, 0));
  const ConfigNode axes = root.at("axes");
  std::set<std::string> names;
  for (const ConfigNode& a : axes.elements()) {
    spec.axes.push_back(read_axis(a, spec.axes.size(), seed));
    for (const Setting& s : spec.axes.back().settings.front()) {
      if (!names.insert(s.name).second) a.fail(fmt::format("column '{}' is named twice", s.name));
      spec.columns.push_back(s.name);
    }
  }
  if (spec.axes.empty()) axes.fail("needs at least one axis");
  std::vector<std::string> known;
  for (const auto& [name, doc] : output_docs()) known.push_back(name);
  if (const auto outputs = root.find("outputs")) {
    for (const ConfigNode& o : outputs->elements()) spec.outputs.push_back(o.as_one_of(known));
    if (spec.outputs.empty()) outputs->fail("needs at least one output");
  } else {
    spec.outputs = {"ttft_ms"};
  }
  spec.baseline = root.string_or("baseline", "tsp");
  root.finish({"$schema"});  // an editor's pointer to `kvsim schema sweep`, not kvsim's

  spec.resolved = Json{{"name", spec.name},
                       {"base", spec.base_file},
                       {"seed", seed},
                       {"points", spec.point_count()},
                       {"columns", spec.columns},
                       {"outputs", spec.outputs},
                       {"baseline", spec.baseline}};
  // What every point is made of: shards of one sweep must agree on it (kvsim merge).
  const auto text = [](const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);  // an override may be any bytes
  };
  spec.input_hash = stable_hash(text(document.json()) + "\n" + text(spec.base));
  return spec;
}

}  // namespace kvsim::sweep
