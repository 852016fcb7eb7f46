#include "calibration/engine/report.hpp"

#include <cmath>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kvsim::engine_fit {
namespace {

// Errors are written rounded to 1e-6 (a ten-thousandth of a percent): the file is for reading
// and diffing, not for recomputing the fit.
double round6(double x) { return std::round(x * 1e6) / 1e6; }

Json stats_json(const MetricErrors& errors) {
  Json j = Json::object();
  for (const auto& [metric, s] : errors) {
    j[metric] = {{"count", s.count},
                 {"median_abs_error", round6(s.median)},
                 {"worst_abs_error", round6(s.worst)},
                 {"bias", round6(s.bias)},
                 {"worst_entry", s.worst_entry}};
  }
  return j;
}

Json rows_json(const std::vector<Observation>& obs, const EngineFit& fit) {
  Json rows = Json::array();
  for (std::size_t i = 0; i < obs.size(); ++i) {
    const Observation& o = obs[i];
    Json r{{"entry", o.entry},
           {"metric", o.metric},
           {"measured_ms", o.measured_ms},
           {"predicted_ms", round6(fit.predicted[i])},
           {"error", round6((fit.predicted[i] - o.measured_ms) / o.measured_ms)}};
    for (const HeldOut& h : fit.held_out) {
      const auto& p = h.predicted[i];
      r["held_out_error"][h.grouping] =
          p ? Json(round6((*p - o.measured_ms) / o.measured_ms)) : Json();
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

std::size_t configurations(const std::vector<Observation>& obs) {
  std::set<std::string> c;
  for (const Observation& o : obs) c.insert(o.configuration);
  return c.size();
}

std::vector<std::string> fittable_names(const LinearModel& model) {
  std::vector<std::string> out;
  for (const Parameter& p : model.parameters) out.push_back(p.pointer);
  return out;
}

std::string pct(double x) { return fmt::format("{:+.1f}%", 100 * x); }

std::string stats_cells(const MetricErrors& errors, const std::string& metric) {
  const auto it = errors.find(metric);
  if (it == errors.end() || it->second.count == 0) return "| - | - | - | - ";
  const ErrorStats& s = it->second;
  return fmt::format("| {} | {:.1f}% | {:.1f}% | {} ", s.count, 100 * s.median, 100 * s.worst,
                     pct(s.bias));
}

// Every row: its inputs, measured and in-sample predicted ms, and its error in-sample and when
// its configuration, model or GPU was left out of the fit ("-": that refit was not determined).
std::string row_table(const std::vector<Observation>& obs, const EngineFit& fit) {
  std::string md = "\n| row | inputs | metric | measured ms | predicted ms | error |";
  std::string rule = "\n|---|---|---|---|---|---|";
  for (const HeldOut& h : fit.held_out) {
    md += fmt::format(" leave {} out |", h.grouping);
    rule += "---|";
  }
  md += rule + "\n";
  for (std::size_t i = 0; i < obs.size(); ++i) {
    const Observation& o = obs[i];
    std::vector<std::string> inputs;
    for (const auto& [name, value] : o.inputs) inputs.push_back(fmt::format("{} {}", name, value));
    md += fmt::format("| {} | {} | {} | {:.4g} | {:.4g} | {} |", o.entry, fmt::join(inputs, ", "),
                      o.metric, o.measured_ms, fit.predicted[i],
                      pct((fit.predicted[i] - o.measured_ms) / o.measured_ms));
    for (const HeldOut& h : fit.held_out) {
      const auto& p = h.predicted[i];
      md += p ? fmt::format(" {} |", pct((*p - o.measured_ms) / o.measured_ms)) : " - |";
    }
    md += "\n";
  }
  return md;
}

}  // namespace

Json profile_json(const Json& base_engine, const LinearModel& model,
                  const std::vector<Observation>& observations, const EngineFit& fit,
                  const FitInputs& inputs) {
  Json profile = with_values(base_engine, model.parameters, fit.values);
  profile["kind"] = "kvsim-engine-profile";
  if (!inputs.description.empty()) profile["description"] = inputs.description;
  std::vector<std::string> files;
  for (const auto& f : inputs.files) files.push_back(f.first);
  profile["source"] = fmt::format("kvsim calibrate-engine on {} (fit: {})", fmt::join(files, ", "),
                                  fmt::join(fittable_names(model), ", "));
  Json params = Json::array();
  for (std::size_t j = 0; j < model.parameters.size(); ++j) {
    params.push_back({{"pointer", model.parameters[j].pointer},
                      {"value", format_value(model.parameters[j], fit.values[j])},
                      {"held_at_zero", fit.at_bound[j]}});
  }
  Json data = Json::array();
  for (const auto& [file, rows] : inputs.files) data.push_back({{"file", file}, {"rows", rows}});
  Json held = Json::object();
  for (const HeldOut& h : fit.held_out) {
    held[h.grouping] = {{"groups", h.groups},
                        {"errors", stats_json(h.errors)},
                        {"not_determined", h.undetermined}};
  }
  profile["fit"] = {{"scenario", inputs.scenario},   {"data", data},
                    {"where", inputs.where},         {"metrics", inputs.metrics},
                    {"parameters", params},          {"observations", observations.size()},
                    {"configurations", configurations(observations)},
                    {"in_sample", stats_json(fit.in_sample)},
                    {"held_out", held},              {"warnings", inputs.warnings},
                    {"rows", rows_json(observations, fit)}};
  return profile;
}

std::string summary_line(const std::string& metric, const ErrorStats& s) {
  return fmt::format("{} median {:.1f}%, worst {:.1f}% ({}), bias {} over {} rows", metric,
                     100 * s.median, 100 * s.worst, s.worst_entry, pct(s.bias), s.count);
}

std::string report_markdown(const std::string& name, const LinearModel& model,
                            const std::vector<Observation>& observations, const EngineFit& fit,
                            const FitInputs& inputs) {
  std::string md = fmt::format("# Engine fit: {}\n\nTemplate scenario: `{}`. Data:", name,
                               inputs.scenario);
  for (const auto& [file, rows] : inputs.files) md += fmt::format(" `{}` ({} rows)", file, rows);
  md += fmt::format("{}. {} observations over {} configurations.\n\n",
                    inputs.where.empty()
                        ? ""
                        : fmt::format("; where {}", fmt::join(inputs.where, ", ")),
                    observations.size(), configurations(observations));
  md += "| parameter | fitted |\n|---|---|\n";
  for (std::size_t j = 0; j < model.parameters.size(); ++j) {
    md += fmt::format("| `{}` | {}{} |\n", model.parameters[j].pointer,
                      format_value(model.parameters[j], fit.values[j]),
                      fit.at_bound[j] ? " (held at 0: the data wanted less)" : "");
  }
  md += "\nErrors, (predicted - measured) / measured: median and worst of the absolute values, "
        "bias the mean.\n\n| fit | TTFT n | median | worst | bias | TPOT n | median | worst | "
        "bias |\n|---|---|---|---|---|---|---|---|---|\n";
  md += fmt::format("| in-sample {}{}|\n", stats_cells(fit.in_sample, "ttft"),
                    stats_cells(fit.in_sample, "tpot"));
  for (const HeldOut& h : fit.held_out) {
    md += fmt::format("| leave one {} out ({} groups) {}{}|\n", h.grouping, h.groups,
                      stats_cells(h.errors, "ttft"), stats_cells(h.errors, "tpot"));
  }
  for (const HeldOut& h : fit.held_out) {
    for (const std::string& u : h.undetermined) {
      md += fmt::format("\nLeave one {} out: not refitted without {}\n", h.grouping, u);
    }
  }
  md += row_table(observations, fit);
  for (const std::string& w : inputs.warnings) md += fmt::format("\nWarning: {}\n", w);
  return md;
}

}  // namespace kvsim::engine_fit
