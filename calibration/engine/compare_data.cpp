#include "calibration/engine/compare_data.hpp"

#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/input_error.hpp"

namespace kvsim::engine_fit {
namespace {

using compare::MeasuredPoint;
using Column = std::pair<std::string, std::function<std::string(const MeasuredPoint&)>>;

// The columns --where can select on, as compare reads them (GPU names the catalog's).
const std::vector<Column>& columns() {
  static const std::vector<Column> all{
      {"model", [](const MeasuredPoint& p) { return p.model; }},
      {"gpu", [](const MeasuredPoint& p) { return p.gpu; }},
      {"precision", [](const MeasuredPoint& p) { return p.precision; }},
      {"engine", [](const MeasuredPoint& p) { return p.engine; }},
      {"attention", [](const MeasuredPoint& p) { return p.attention; }},
      {"tp", [](const MeasuredPoint& p) { return std::to_string(p.tp); }},
      {"pp", [](const MeasuredPoint& p) { return std::to_string(p.pp); }},
      {"batch", [](const MeasuredPoint& p) { return std::to_string(p.batch); }},
      {"prompt_tokens", [](const MeasuredPoint& p) { return std::to_string(p.prompt_tokens); }},
      {"output_tokens", [](const MeasuredPoint& p) { return std::to_string(p.output_tokens); }},
  };
  return all;
}

std::vector<std::string> column_names() {
  std::vector<std::string> names;
  for (const auto& c : columns()) names.push_back(c.first);
  return names;
}

bool accepted(const MeasuredPoint& p, const std::vector<Filter>& where) {
  return std::all_of(where.begin(), where.end(), [&](const Filter& f) {
    for (const auto& [name, get] : columns()) {
      if (name == f.column) {
        return std::find(f.values.begin(), f.values.end(), get(p)) != f.values.end();
      }
    }
    return false;
  });
}

// A scenario's named model or GPU, for rows that leave it to the scenario.
std::string scenario_name(const Json& j, const char* at) {
  const Json::json_pointer ptr(at);
  return j.contains(ptr) && j.at(ptr).is_string() ? j.at(ptr).get<std::string>() : "(scenario's)";
}

Observation observation(const MeasuredPoint& p, const std::string& metric, const Json& scenario) {
  Observation o;
  o.entry = p.entry;
  o.metric = metric;
  o.measured_ms = metric == "ttft" ? p.ttft_ms : *p.tpot_ms;
  o.configuration = fmt::format("{}|out{}", compare::point_key(p), p.output_tokens);
  o.model = p.model.empty() ? scenario_name(scenario, "/model") : p.model;
  o.gpu = p.gpu.empty() ? scenario_name(scenario, "/cluster/gpu") : p.gpu;
  o.inputs = {{"model", o.model},
              {"GPU", o.gpu},
              {"precision", p.precision.empty() ? "(scenario's)" : p.precision},
              {"TP", std::to_string(p.tp)},
              {"PP", std::to_string(p.pp)},
              {"batch", std::to_string(p.batch)},
              {"prompt length", std::to_string(p.prompt_tokens)},
              {"output length", std::to_string(p.output_tokens)}};
  return o;
}

// The template a row is predicted on; throws naming the row when there is none.
const ConfigDocument& template_of(const Templates& t, const MeasuredPoint& p) {
  if (const auto it = t.by_gpu.find(p.gpu); it != t.by_gpu.end()) return it->second;
  if (t.fallback) return *t.fallback;
  throw InputError(p.entry, "",
                   fmt::format("no template scenario for GPU '{}': give --gpu-scenario {}=SCENARIO "
                               "or a default --scenario",
                               p.gpu, p.gpu));
}

// One compare run: a template and the rows predicted on it.
struct Batch {
  const ConfigDocument* key;  // the template in Templates, for grouping
  ConfigDocument scenario;    // a copy: the predictor outlives the caller's Templates
  compare::Measurements rows;
};

}  // namespace

Filter parse_filter(const std::string& text) {
  const auto eq = text.find('=');
  const std::string column = text.substr(0, eq);
  const auto names = column_names();
  if (eq == std::string::npos || std::find(names.begin(), names.end(), column) == names.end()) {
    throw InputError("--where", "",
                     fmt::format("'{}' is not column=value with a column of the measurements; "
                                 "{}",
                                 text, valid_values_hint(column, names)));
  }
  Filter f{column, {}};
  const std::string rest = text.substr(eq + 1);
  for (std::size_t at = 0;;) {
    const std::size_t comma = rest.find(',', at);
    f.values.push_back(rest.substr(at, comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return f;
}

namespace {

// Every kept row of every file, grouped into one compare run per (file, template).
std::vector<Batch> batches(const Templates& templates, const std::vector<std::string>& files,
                           const std::vector<Filter>& where, CompareData& d) {
  std::vector<Batch> out;
  for (const std::string& f : files) {
    compare::Measurements m = compare::read_measurements(f);
    std::erase_if(m.points, [&](const MeasuredPoint& p) { return !accepted(p, where); });
    d.files.emplace_back(f, m.points.size());
    const std::size_t first = out.size();
    for (const MeasuredPoint& p : m.points) {
      const ConfigDocument* s = &template_of(templates, p);
      auto it = std::find_if(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                             [&](const Batch& b) { return b.key == s; });
      if (it == out.end()) {
        compare::Measurements rows = m;
        rows.points.clear();
        out.push_back({s, *s, std::move(rows)});
        it = out.end() - 1;
      }
      it->rows.points.push_back(p);
    }
  }
  return out;
}

}  // namespace

CompareData compare_data(const Templates& templates, const std::vector<std::string>& files,
                         const std::vector<Filter>& where, const std::vector<std::string>& metrics,
                         const compare::CompareOptions& options) {
  const bool ttft = std::count(metrics.begin(), metrics.end(), "ttft") > 0;
  const bool tpot = std::count(metrics.begin(), metrics.end(), "tpot") > 0;
  CompareData d;
  auto sets = std::make_shared<const std::vector<Batch>>(batches(templates, files, where, d));
  for (const Batch& b : *sets) {
    for (const MeasuredPoint& p : b.rows.points) {
      if (ttft && p.has_ttft) d.observations.push_back(observation(p, "ttft", b.scenario.json()));
      if (tpot && p.tpot_ms) d.observations.push_back(observation(p, "tpot", b.scenario.json()));
    }
  }
  if (d.observations.empty()) {
    throw InputError(fmt::format("{}", fmt::join(files, ", ")), "",
                     fmt::format("no measured {} left to fit after --where",
                                 fmt::join(metrics, " or ")));
  }
  d.warnings = std::make_shared<std::vector<std::string>>();
  auto collected = std::make_shared<bool>(false);
  d.predict = [sets, ttft, tpot, options, warnings = d.warnings, collected](const Json& engine) {
    std::vector<double> out;
    const bool first = !*collected;
    *collected = true;
    for (const Batch& b : *sets) {
      Json j = b.scenario.json();
      j["engine"] = engine;
      const ConfigDocument with_engine(std::move(j), b.scenario.name());
      const compare::Comparison c = compare::compare(with_engine, b.rows, options);
      for (const std::string& w : first ? c.warnings : std::vector<std::string>{}) {
        // Each batch of a file carries the file's reading warnings: say each once.
        if (std::find(warnings->begin(), warnings->end(), w) == warnings->end()) {
          warnings->push_back(w);
        }
      }
      for (const compare::ComparedPoint& p : c.points) {
        if (ttft && p.measured.has_ttft) out.push_back(p.predicted_ms);
        if (!tpot || !p.measured.tpot_ms) continue;
        if (!p.predicted_tpot_ms) {
          throw InputError(p.measured.entry, "",
                           "a TPOT was measured here but kvsim compare predicts none for this "
                           "row; fit TTFT only (--metrics ttft)");
        }
        out.push_back(*p.predicted_tpot_ms);
      }
    }
    return out;
  };
  return d;
}

}  // namespace kvsim::engine_fit
