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

// The columns --where can select on, as the measurement files name them.
const std::vector<Column>& columns() {
  static const std::vector<Column> all{
      {"model", [](const MeasuredPoint& p) { return p.model; }},
      {"gpu", [](const MeasuredPoint& p) { return p.gpu; }},
      {"attention", [](const MeasuredPoint& p) { return p.attention; }},
      {"tp", [](const MeasuredPoint& p) { return std::to_string(p.tp); }},
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
std::string scenario_name(const Json& j, const Json::json_pointer& at) {
  return j.contains(at) && j.at(at).is_string() ? j.at(at).get<std::string>() : "(scenario's)";
}

Observation observation(const MeasuredPoint& p, const std::string& metric, const Json& scenario) {
  Observation o;
  o.entry = p.entry;
  o.metric = metric;
  o.measured_ms = metric == "ttft" ? p.ttft_ms : *p.tpot_ms;
  o.configuration = fmt::format("{}|out{}", compare::point_key(p), p.output_tokens);
  o.model = p.model.empty() ? scenario_name(scenario, Json::json_pointer("/model")) : p.model;
  o.gpu = p.gpu.empty() ? scenario_name(scenario, Json::json_pointer("/cluster/gpu")) : p.gpu;
  o.inputs = {{"model", o.model},
              {"GPU", o.gpu},
              {"TP", std::to_string(p.tp)},
              {"batch", std::to_string(p.batch)},
              {"prompt length", std::to_string(p.prompt_tokens)},
              {"output length", std::to_string(p.output_tokens)}};
  return o;
}

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
  std::string rest = text.substr(eq + 1);
  for (std::size_t at = 0;;) {
    const std::size_t comma = rest.find(',', at);
    f.values.push_back(rest.substr(at, comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return f;
}

CompareData compare_data(const ConfigDocument& scenario, const std::vector<std::string>& files,
                         const std::vector<Filter>& where, const std::vector<std::string>& metrics,
                         const compare::CompareOptions& options) {
  const bool ttft = std::count(metrics.begin(), metrics.end(), "ttft") > 0;
  const bool tpot = std::count(metrics.begin(), metrics.end(), "tpot") > 0;
  auto sets = std::make_shared<std::vector<compare::Measurements>>();
  CompareData d;
  for (const std::string& f : files) {
    compare::Measurements m = compare::read_measurements(f);
    std::erase_if(m.points, [&](const MeasuredPoint& p) { return !accepted(p, where); });
    d.files.emplace_back(f, m.points.size());
    for (const MeasuredPoint& p : m.points) {
      if (ttft) d.observations.push_back(observation(p, "ttft", scenario.json()));
      if (tpot && p.tpot_ms) d.observations.push_back(observation(p, "tpot", scenario.json()));
    }
    if (!m.points.empty()) sets->push_back(std::move(m));
  }
  if (d.observations.empty()) {
    throw InputError(fmt::format("{}", fmt::join(files, ", ")), "",
                     fmt::format("no measured {} left to fit after --where", fmt::join(metrics, " or ")));
  }
  d.warnings = std::make_shared<std::vector<std::string>>();
  d.predict = [doc = scenario, sets, ttft, tpot, options,
               warnings = d.warnings](const Json& engine) {
    Json j = doc.json();
    j["engine"] = engine;
    const ConfigDocument with_engine(std::move(j), doc.name());
    std::vector<double> out;
    for (const compare::Measurements& m : *sets) {
      const compare::Comparison c = compare::compare(with_engine, m, options);
      if (warnings->empty()) *warnings = c.warnings;
      for (const compare::ComparedPoint& p : c.points) {
        if (ttft) out.push_back(p.predicted_ms);
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
