#include "sim/sweep/sweep.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "sim/core/random.hpp"
#include "sim/prefill/partitioner.hpp"
#include "sim/serving/engine.hpp"
#include "sim/scenario/prefill_memory.hpp"
#include "sim/scenario/scenario.hpp"

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


bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
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
  for (const Setting& s : settings(index)) {
    j[s.pointer] = s.value;
    where += fmt::format("{}{}={}", where.empty() ? "" : ", ", s.name, s.text());
  }
  return ConfigDocument(std::move(j),
                        fmt::format("{} (sweep point {}: {})", base_file, index, where),
                        fs::path(base_file).parent_path().string());
}

SweepSpec load_sweep(const ConfigDocument& document) {
  const ConfigNode root = document.root();
  SweepSpec spec;
  spec.file = document.name();
  spec.name = root.string_or("name", fs::path(spec.file).stem().string());
  const ConfigNode base = root.at("base");
  spec.base_file = base.resolve_path(base.as_string());
  if (!fs::exists(spec.base_file)) {
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
      spec.base[pointer] = value;
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
  root.finish();

  spec.resolved = Json{{"name", spec.name},
                       {"base", spec.base_file},
                       {"seed", seed},
                       {"points", spec.point_count()},
                       {"columns", spec.columns},
                       {"outputs", spec.outputs},
                       {"baseline", spec.baseline}};
  return spec;
}

void for_each_point(std::size_t count, const std::function<void(std::size_t)>& body,
                    const std::function<void(std::size_t done)>& progress) {
  std::vector<std::exception_ptr> errors(count);
  std::atomic<std::size_t> done{0};
  std::mutex report;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, count, 1),
                    [&](const tbb::blocked_range<std::size_t>& r) {
                      for (std::size_t i = r.begin(); i != r.end(); ++i) {
                        try {
                          body(i);
                        } catch (...) {
                          errors[i] = std::current_exception();
                        }
                        const std::size_t finished = ++done;
                        if (progress) {
                          const std::lock_guard lock(report);
                          progress(finished);
                        }
                      }
                    });
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

namespace {

// A serving point's columns: latency percentiles, throughput and memory from `kvsim serve`'s
// summary, named serve.<metric>.
std::vector<std::pair<std::string, std::string>> serving_outputs(const Scenario& s,
                                                                 const ConfigNode& node) {
  serving::ServingSetup setup = serving::ServingSetup::from_config(node, s);
  serving::Workload workload(node.at("workload"), RandomStreams(s.seed), s.model.max_context);
  const Json j = serving::simulate_serving(s, setup, std::move(workload)).summary;
  std::vector<std::pair<std::string, std::string>> out;
  const auto add = [&](const std::string& name, double v) {
    out.emplace_back("serve." + name, fmt::format("{:.6f}", v));
  };
  for (const char* metric : {"ttft", "tpot", "itl", "e2e_latency", "queueing_delay"}) {
    for (const char* stat : {"mean", "p50", "p90", "p99"}) {
      add(fmt::format("{}_{}_ms", metric, stat), 1e3 * j[metric][std::string(stat) + "_s"].get<double>());
    }
  }
  for (const char* metric : {"request_throughput", "output_throughput", "goodput",
                             "kv_utilization", "kv_waste", "gpu_busy_fraction"}) {
    add(metric, j[metric].get<double>());
  }
  out.emplace_back("serve.preemptions", fmt::format("{}", j["preemptions"].get<std::uint64_t>()));
  return out;
}

}  // namespace

namespace {

// One strategy's requested outputs, formatted for the CSV.
std::string output_value(const std::string& o, const prefill::PrefillResult& r,
                         const prefill::PrefillResult* baseline, const SweepSpec& spec,
                         const std::string& point) {
  if (o == "ttft_ms") return fmt::format("{:.6f}", to_ms(r.ttft));
  if (o == "speedup") {
    if (baseline == nullptr) {
      throw InputError(spec.file, "/baseline",
                       fmt::format("the baseline strategy '{}' is not among the strategies of {}",
                                   spec.baseline, point));
    }
    return fmt::format("{:.6f}", static_cast<double>(baseline->ttft.count()) /
                                     static_cast<double>(r.ttft.count()));
  }
  if (o == "partition") return fmt::format("{}", fmt::join(r.partition, " "));
  if (o == "fractions") {
    return fmt::format("{:.6f}", fmt::join(prefill::partition_fractions(r.partition), " "));
  }
  if (o == "critical_compute_ms") return fmt::format("{:.6f}", to_ms(r.critical_compute));
  if (o == "critical_communication_ms") {
    return fmt::format("{:.6f}", to_ms(r.critical_communication));
  }
  if (o == "link_bytes") {
    double total = 0;
    for (const double b : r.link_bytes) total += b;
    return fmt::format("{:.0f}", total);
  }
  return fmt::format("{}", r.events);  // "events"
}

using PointOutputs = std::vector<std::pair<std::string, std::string>>;

// Runs one point (its strategies' memory checked as `kvsim run` checks them) and returns its
// (column, value) pairs in the order the strategies report them, and its scenario's warnings.
PointOutputs run_point(const SweepSpec& spec, std::size_t i, bool strict,
                       std::vector<std::string>& warnings) {
  const ConfigDocument doc = spec.document(i);
  const Scenario s = load_scenario(doc);
  if (strict && !s.warnings.empty()) {
    throw InputError(doc.name(), "", fmt::format("--strict refuses the scenario's warnings: {}",
                                                 fmt::join(s.warnings, "; ")));
  }
  warnings = s.warnings;
  PointOutputs outputs;
  const auto serving = doc.root().find("serving");
  if (serving) outputs = serving_outputs(s, *serving);
  if (!s.prefill || s.prefill->strategies.empty()) {
    if (serving) return outputs;
    throw InputError(doc.name(), "/prefill/strategies",
                     "a sweep point needs prefill strategies or a serving section to run");
  }
  std::vector<prefill::PrefillResult> results;
  for (CheckedPrefill& r : run_prefill(s, false)) results.push_back(std::move(r.result));
  const prefill::PrefillResult* baseline = nullptr;
  for (const auto& r : results) {
    if (r.label == spec.baseline) baseline = &r;
  }
  for (const auto& r : results) {
    for (const std::string& o : spec.outputs) {
      outputs.emplace_back(r.label + "." + o, output_value(o, r, baseline, spec, doc.name()));
    }
  }
  return outputs;
}

}  // namespace

Table run_sweep(const SweepSpec& spec, const std::function<void(std::size_t done)>& progress,
                bool strict) {
  const std::size_t n = spec.point_count();
  std::vector<PointOutputs> outputs(n);
  std::vector<std::vector<std::string>> warnings(n);
  for_each_point(
      n, [&](std::size_t i) { outputs[i] = run_point(spec, i, strict, warnings[i]); },
      progress);

  Table table;
  table.columns.push_back("point");
  for (const auto& c : spec.columns) table.columns.push_back(c);
  std::map<std::string, std::size_t> index;
  for (const auto& point : outputs) {
    for (const auto& [column, value] : point) {
      if (index.emplace(column, table.columns.size()).second) table.columns.push_back(column);
    }
  }
  // A warnings column only where a point has one, so sweeps without warnings keep their CSV.
  const bool warned = std::any_of(warnings.begin(), warnings.end(),
                                  [](const auto& w) { return !w.empty(); });
  if (warned) table.columns.push_back("warnings");
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::string> row(table.columns.size());
    row[0] = fmt::format("{}", i);
    const std::vector<Setting> settings = spec.settings(i);
    for (std::size_t s = 0; s < settings.size(); ++s) row[1 + s] = settings[s].text();
    for (const auto& [column, value] : outputs[i]) row[index.at(column)] = value;
    if (warned) row.back() = fmt::format("{}", fmt::join(warnings[i], "; "));
    table.rows.push_back(std::move(row));
  }
  return table;
}

Json summarize(const SweepSpec& spec, const Table& table) {
  Json columns = Json::array();
  for (std::size_t c = 1 + spec.columns.size(); c < table.columns.size(); ++c) {
    if (table.columns[c] == "warnings") continue;
    double lo = 0;
    double hi = 0;
    double sum = 0;
    std::size_t count = 0;
    std::size_t best = 0;
    bool numeric = true;
    for (std::size_t r = 0; r < table.rows.size() && numeric; ++r) {
      double x = 0;
      if (table.rows[r][c].empty()) continue;
      if (!parse_number(table.rows[r][c], x)) {
        numeric = false;
        break;
      }
      if (count == 0 || x < lo) {
        lo = x;
        best = r;
      }
      if (count == 0 || x > hi) hi = x;
      sum += x;
      ++count;
    }
    if (!numeric || count == 0) continue;
    Json entry{{"column", table.columns[c]},
               {"min", lo},
               {"mean", sum / static_cast<double>(count)},
               {"max", hi}};
    if (table.columns[c].ends_with(".ttft_ms")) {
      Json at = Json::object();
      for (std::size_t s = 0; s < spec.columns.size(); ++s) {
        at[spec.columns[s]] = table.rows[best][1 + s];
      }
      entry["fastest_point"] = at;
    }
    columns.push_back(entry);
  }
  Json out = spec.resolved;
  out["summary"] = columns;
  if (const int w = table.column("warnings"); w >= 0) {
    Json warnings = Json::array();
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
      const std::string& text = table.rows[r][static_cast<std::size_t>(w)];
      if (!text.empty()) warnings.push_back(Json{{"point", r}, {"warnings", text}});
    }
    out["warnings"] = warnings;
  }
  return out;
}

}  // namespace kvsim::sweep
