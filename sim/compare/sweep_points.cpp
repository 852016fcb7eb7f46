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

}  // namespace

Comparison compare_sweep(const sweep::SweepSpec& spec, const Measurements& measured,
                         const CompareOptions& options) {
  if (options.queueing) {
    throw InputError(spec.file, "",
                     "--queueing replays a benchmark on one scenario's serving setup; give that "
                     "scenario instead of a sweep");
  }
  std::map<std::vector<std::string>, std::size_t> point_of_settings;
  for (std::size_t i = 0; i < spec.point_count(); ++i) {
    point_of_settings.emplace(normalised(spec.settings(i)), i);
  }
  // The sweep points the rows name, in order of first appearance, and each row's slot.
  std::vector<std::size_t> points;
  std::map<std::size_t, std::size_t> slot_of_point;
  std::vector<std::size_t> slot(measured.points.size());
  std::vector<std::vector<std::size_t>> rows_of;
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
    const auto [at, added] = slot_of_point.emplace(it->second, points.size());
    if (added) {
      points.push_back(it->second);
      rows_of.emplace_back();
    }
    slot[r] = at->second;
    rows_of[at->second].push_back(r);
  }

  std::vector<PointPrediction> predictions(points.size());
  std::vector<std::string> strategy(measured.points.size());  // each row's, resolved
  sweep::for_each_point(
      points.size(),
      [&](std::size_t k) {
        const ConfigDocument doc = spec.document(points[k]);
        const Scenario s = load_scenario(doc);
        if (!s.prefill || s.prefill->strategies.empty()) {
          throw InputError(doc.name(), "/prefill/strategies",
                           "compare predicts a sweep point with its prefill strategies, and this "
                           "point has none");
        }
        std::vector<std::string> labels;
        for (const auto& st : s.prefill->strategies) labels.push_back(st->label());
        const auto gpus = static_cast<std::int64_t>(s.prefill->gpus.size());
        PointPrediction& out = predictions[k];
        out.warnings = s.warnings;
        out.described.model = s.model.name;
        out.described.gpu = s.gpu.name;
        out.described.attention = s.prefill->attention == AttentionImpl::kEager ? "eager" : "fused";
        out.described.tp = gpus;
        out.described.prompt_tokens = s.prefill->context_tokens;
        for (const std::size_t r : rows_of[k]) {
          const MeasuredPoint& row = measured.points[r];
          strategy[r] = !row.strategy.empty() ? row.strategy
                        : !options.strategy.empty() ? options.strategy
                                                    : labels.front();
          if (out.by_strategy.contains(strategy[r])) continue;
          const auto it = std::find(labels.begin(), labels.end(), strategy[r]);
          if (it == labels.end()) {
            throw InputError(measured.file, "",
                             fmt::format("{}: strategy '{}' is not one of the point's "
                                         "strategies ({})",
                                         line_of(row, measured.file), strategy[r],
                                         fmt::join(labels, ", ")));
          }
          const auto index = static_cast<std::size_t>(it - labels.begin());
          const auto& st = s.prefill->strategies[index];
          // Checked like `kvsim run`: a searched partition that does not fit is refused.
          const double ms = to_ms(run_checked(s, index, false).result.ttft);
          out.by_strategy.emplace(
              strategy[r],
              std::pair{ms, provenance_shares(s, st->tensor_parallel(gpus),
                                              s.prefill->context_tokens)});
        }
      },
      nullptr);

  Comparison c;
  for (std::size_t r = 0; r < measured.points.size(); ++r) {
    const PointPrediction& prediction = predictions[slot[r]];
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
    c.points.push_back(std::move(cp));
  }
  c.method = fmt::format("each row by its strategy on its point of sweep {} ({} points), no "
                         "queueing",
                         spec.name, points.size());
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
