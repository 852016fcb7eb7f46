// Measurements at the points of a sweep: each row is matched to the sweep point with its
// settings and predicted by the strategy it names, the points in parallel.
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/compare/compare.hpp"
#include "sim/core/input_error.hpp"
#include "sim/scenario/prefill_memory.hpp"

namespace kvsim::compare {
namespace {

// A value as the matching sees it: numbers by value (so 1024, 1024.0 and 1.024e3 agree),
// anything else by its text.
std::string normalised(const std::string& text) {
  char* end = nullptr;
  const double x = std::strtod(text.c_str(), &end);
  if (!text.empty() && end == text.c_str() + text.size() && std::isfinite(x)) {
    return fmt::format("{}", x);
  }
  return text;
}

std::vector<std::string> normalised(const std::vector<sweep::Setting>& settings) {
  std::vector<std::string> out;
  for (const sweep::Setting& s : settings) out.push_back(normalised(s.text()));
  return out;
}

// Why a row's settings match no point: a value the column never takes, or a combination that
// zipped or sampled axes do not produce.
std::string why_unmatched(const sweep::SweepSpec& spec, const MeasuredPoint& row) {
  for (std::size_t c = 0; c < spec.columns.size(); ++c) {
    std::vector<std::string> values;
    bool found = false;
    for (const sweep::Axis& axis : spec.axes) {
      for (const auto& position : axis.settings) {
        for (const sweep::Setting& s : position) {
          if (s.name != spec.columns[c]) continue;
          if (normalised(s.text()) == normalised(row.settings[c].second)) found = true;
          if (std::find(values.begin(), values.end(), s.text()) == values.end()) {
            values.push_back(s.text());
          }
        }
      }
    }
    if (!found) {
      if (values.size() > 12) {
        values.resize(12);
        values.emplace_back("...");
      }
      return fmt::format("{} is '{}', which sweep {} does not take (it takes {})",
                         spec.columns[c], row.settings[c].second, spec.name,
                         fmt::join(values, ", "));
    }
  }
  return fmt::format("no point of sweep {} has this combination of {} (zipped or sampled axes "
                     "set them together)",
                     spec.name, fmt::join(spec.columns, ", "));
}

// "line 5" of "file.csv line 5": the error names the file already.
std::string line_of(const MeasuredPoint& row, const std::string& file) {
  return row.entry.starts_with(file + " ") ? row.entry.substr(file.size() + 1) : row.entry;
}

struct PointPrediction {
  std::map<std::string, std::pair<double, Json>> by_strategy;  // label -> (ms, provenance)
  MeasuredPoint described;  // model, GPU, attention, GPUs and context of the point
  std::vector<std::string> warnings;  // the point's scenario's
};

// The sweep points the rows name, in order of first appearance, and each row's slot.
struct RowsByPoint {
  std::vector<std::size_t> points;               // sweep point index, per slot
  std::vector<std::size_t> slot;                 // per row
  std::vector<std::vector<std::size_t>> rows_of;  // per slot: its rows
};

RowsByPoint match_rows(const sweep::SweepSpec& spec, const Measurements& measured) {
  std::map<std::vector<std::string>, std::size_t> point_of_settings;
  for (std::size_t i = 0; i < spec.point_count(); ++i) {
    point_of_settings.emplace(normalised(spec.settings(i)), i);
  }
  RowsByPoint out;
  out.slot.resize(measured.points.size());
  std::map<std::size_t, std::size_t> slot_of_point;
  for (std::size_t r = 0; r < measured.points.size(); ++r) {
    const MeasuredPoint& row = measured.points[r];
    std::vector<std::string> key;
    for (const auto& [column, value] : row.settings) key.push_back(normalised(value));
    const auto it = point_of_settings.find(key);
    if (it == point_of_settings.end()) {
      throw InputError(measured.file, "",
                       fmt::format("{}: {}", line_of(row, measured.file),
                                   why_unmatched(spec, row)));
    }
    const auto [at, added] = slot_of_point.emplace(it->second, out.points.size());
    if (added) {
      out.points.push_back(it->second);
      out.rows_of.emplace_back();
    }
    out.slot[r] = at->second;
    out.rows_of[at->second].push_back(r);
  }
  return out;
}

// What the comparison reports of the point: its model, GPU, attention, GPUs and context.
MeasuredPoint describe(const Scenario& s) {
  MeasuredPoint d;
  d.model = s.model.name;
  d.gpu = s.gpu.name;
  d.attention = s.prefill->attention == AttentionImpl::kEager ? "eager" : "fused";
  d.tp = static_cast<std::int64_t>(s.prefill->gpus.size());
  d.prompt_tokens = s.prefill->context_tokens;
  return d;
}

// One sweep point: its scenario, and the TTFT of each strategy its rows name (the row's, else
// --strategy, else the point's first). Writes each row's resolved strategy into `strategy`.
void predict_point(const sweep::SweepSpec& spec, std::size_t point,
                   const std::vector<std::size_t>& rows, const Measurements& measured,
                   const CompareOptions& options, std::vector<std::string>& strategy,
                   PointPrediction& out) {
  const ConfigDocument doc = spec.document(point);
  const Scenario s = load_scenario(doc);
  if (!s.prefill || s.prefill->strategies.empty()) {
    throw InputError(doc.name(), "/prefill/strategies",
                     "compare predicts a sweep point with its prefill strategies, and this "
                     "point has none");
  }
  std::vector<std::string> labels;
  for (const auto& st : s.prefill->strategies) labels.push_back(st->label());
  const auto gpus = static_cast<std::int64_t>(s.prefill->gpus.size());
  out.warnings = s.warnings;
  out.described = describe(s);
  for (const std::size_t r : rows) {
    const MeasuredPoint& row = measured.points[r];
    strategy[r] = !row.strategy.empty()       ? row.strategy
                  : !options.strategy.empty() ? options.strategy
                                              : labels.front();
    if (out.by_strategy.contains(strategy[r])) continue;
    const auto it = std::find(labels.begin(), labels.end(), strategy[r]);
    if (it == labels.end()) {
      throw InputError(measured.file, "",
                       fmt::format("{}: strategy '{}' is not one of the point's strategies ({})",
                                   line_of(row, measured.file), strategy[r],
                                   fmt::join(labels, ", ")));
    }
    const auto index = static_cast<std::size_t>(it - labels.begin());
    const auto& st = s.prefill->strategies[index];
    // Checked like `kvsim run`: a searched partition that does not fit is refused.
    const double ms = to_ms(run_checked(s, index, false).result.ttft);
    out.by_strategy.emplace(
        strategy[r], std::pair{ms, provenance_shares(s, st->tensor_parallel(gpus),
                                                     s.prefill->context_tokens)});
  }
}

// Each measured row beside its point's prediction for its strategy.
std::vector<ComparedPoint> compared_rows(const Measurements& measured, const RowsByPoint& rows,
                                         const std::vector<PointPrediction>& predictions,
                                         const std::vector<std::string>& strategy) {
  std::vector<ComparedPoint> out;
  for (std::size_t r = 0; r < measured.points.size(); ++r) {
    const PointPrediction& prediction = predictions[rows.slot[r]];
    ComparedPoint cp;
    cp.measured = prediction.described;
    cp.measured.entry = measured.points[r].entry;
    cp.measured.settings = measured.points[r].settings;
    cp.measured.strategy = strategy[r];
    cp.measured.ttft_ms = measured.points[r].ttft_ms;
    const auto& [ms, shares] = prediction.by_strategy.at(strategy[r]);
    cp.predicted_ms = ms;
    cp.provenance = shares;
    cp.error = relative_error(ms, cp.measured);
    out.push_back(std::move(cp));
  }
  return out;
}

}  // namespace

Comparison compare_sweep(const sweep::SweepSpec& spec, const Measurements& measured,
                         const CompareOptions& options) {
  if (options.queueing) {
    throw InputError(spec.file, "",
                     "--queueing replays a benchmark on one scenario's serving setup; give that "
                     "scenario instead of a sweep");
  }
  const RowsByPoint rows = match_rows(spec, measured);
  std::vector<PointPrediction> predictions(rows.points.size());
  std::vector<std::string> strategy(measured.points.size());  // each row's, resolved
  sweep::for_each_point(
      rows.points.size(),
      [&](std::size_t k) {
        predict_point(spec, rows.points[k], rows.rows_of[k], measured, options, strategy,
                      predictions[k]);
      },
      nullptr);

  Comparison c;
  c.points = compared_rows(measured, rows, predictions, strategy);
  c.method = fmt::format("each row by its strategy on its point of sweep {} ({} points), no "
                         "queueing",
                         spec.name, rows.points.size());
  c.warnings = measured.warnings;
  for (const PointPrediction& p : predictions) {  // each warning once, in point order
    for (const std::string& w : p.warnings) {
      if (std::find(c.warnings.begin(), c.warnings.end(), w) == c.warnings.end()) {
        c.warnings.push_back(w);
      }
    }
  }
  c.aggregates = aggregate(c.points);
  return c;
}

}  // namespace kvsim::compare
