// kvsim compare's outputs: the terminal table, compare.json and compare.md.
#include "sim/compare/report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "sim/compare/compare.hpp"

namespace kvsim::compare {
namespace {

// A sweep point as a reader names it: "network=10GB/s gpus=8 context=16384 kvr/search".
std::string describe_sweep_point(const MeasuredPoint& p) {
  std::string out;
  for (const auto& [column, value] : p.settings) out += fmt::format("{}={} ", column, value);
  return out + p.strategy;
}

Json to_json(const Quantiles& q) {
  return {{"count", q.count}, {"mean", q.mean}, {"p50", q.p50}, {"p90", q.p90}, {"p99", q.p99}};
}

Json point_json(const ComparedPoint& p) {
  const MeasuredPoint& m = p.measured;
  Json point{{"entry", m.entry},
             {"key", point_key(m)},
             {"model", m.model},
             {"gpu", m.gpu},
             {"tp", m.tp},
             {"batch", m.batch},
             {"prompt_tokens", m.prompt_tokens},
             {"measured_ms", m.has_ttft ? Json(m.ttft_ms) : Json()},
             {"predicted_ms", m.has_ttft ? Json(p.predicted_ms) : Json()},
             {"error", m.has_ttft ? Json(p.error) : Json()},
             {"provenance", p.provenance}};
  // What kvsim rows and the published tables add, only where set (older outputs unchanged).
  if (!m.precision.empty()) point["precision"] = m.precision;
  if (m.pp != 1) point["pp"] = m.pp;
  if (!m.engine.empty()) point["engine"] = m.engine;
  if (m.repeats > 1) point["repeats"] = m.repeats;
  if (m.output_tokens > 0 && m.request < 0) point["output_tokens"] = m.output_tokens;
  if (!m.settings.empty()) {
    Json settings = Json::object();
    for (const auto& [column, value] : m.settings) settings[column] = value;
    point["settings"] = settings;
    point["strategy"] = m.strategy;
  }
  if (m.tpot_ms) point["measured_tpot_ms"] = *m.tpot_ms;
  if (p.predicted_tpot_ms) point["predicted_tpot_ms"] = *p.predicted_tpot_ms;
  if (p.tpot_error) point["tpot_error"] = *p.tpot_error;
  if (m.e2e_ms) point["measured_e2e_ms"] = *m.e2e_ms;
  if (p.predicted_e2e_ms) point["predicted_e2e_ms"] = *p.predicted_e2e_ms;
  return point;
}

// "ttft" -> "TTFT ms": how the tables name a metric.
std::string title(const std::string& metric) {
  std::string t = metric;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) {
    return static_cast<char>(std::toupper(c));
  });
  return t + " ms";
}

Json to_json(const ErrorSummary& e) {
  return {{"points", e.points}, {"mape", e.mape},   {"median_ape", e.median_ape},
          {"bias", e.bias},     {"worst", e.worst}, {"worst_entry", e.worst_entry}};
}

// The points with a TTFT (or TPOT) error, worst first, as the table lists them.
std::vector<const ComparedPoint*> worst_first(const Comparison& c, bool tpot) {
  std::vector<const ComparedPoint*> order;
  for (const auto& p : c.points) {
    if (tpot ? p.tpot_error.has_value() : p.measured.has_ttft) order.push_back(&p);
  }
  const auto error = [tpot](const ComparedPoint* p) {
    return std::abs(tpot ? *p->tpot_error : p->error);
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](const auto* a, const auto* b) { return error(a) > error(b); });
  return order;
}

// The TPOT points, worst first (at most 20), and their summary line.
std::string tpot_table(const Comparison& c) {
  const std::vector<const ComparedPoint*> order = worst_first(c, true);
  std::string out = fmt::format("  {:<72} {:>7} {:>7} {:>11} {:>12} {:>8}\n",
                                "entry (TPOT, worst first)", "prompt", "output", "measured ms",
                                "predicted ms", "error");
  for (std::size_t i = 0; i < std::min<std::size_t>(order.size(), 20); ++i) {
    const ComparedPoint& p = *order[i];
    std::string entry = p.measured.entry;
    if (entry.size() > 72) entry = "..." + entry.substr(entry.size() - 69);
    out += fmt::format("  {:<72} {:>7} {:>7} {:>11.3f} {:>12.3f} {:>+7.2f}%\n", entry,
                       p.measured.prompt_tokens, p.measured.output_tokens, *p.measured.tpot_ms,
                       *p.predicted_tpot_ms, 100 * *p.tpot_error);
  }
  if (order.size() > 20) out += fmt::format("  ... and {} more points\n", order.size() - 20);
  const ErrorSummary& t = *c.aggregates.tpot;
  return out + fmt::format("  {} points: TPOT mean abs error {:.2f}%, median {:.2f}%, bias "
                           "{:+.2f}%, worst {:.2f}%\n",
                           t.points, 100 * t.mape, 100 * t.median_ape, 100 * t.bias,
                           100 * t.worst);
}

// "12.300 | 11.100 | -9.76%", or "-" cells where the point has no such measurement.
std::string metric_cells(bool has, double measured, double predicted, double error) {
  if (!has) return "- | - | -";
  return fmt::format("{:.3f} | {:.3f} | {:+.2f}%", measured, predicted, 100 * error);
}

// The per-point rows of a comparison with TPOT: configuration, TTFT and TPOT side by side.
std::string tpot_markdown_rows(const Comparison& c) {
  std::string out =
      "| entry | model | GPU | precision | TP | PP | batch | prompt | output | engine | TTFT "
      "measured ms | predicted ms | error | TPOT measured ms | predicted ms | error |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& p : c.points) {
    const MeasuredPoint& m = p.measured;
    out += fmt::format(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", m.entry, m.model,
        m.gpu, m.precision, m.tp, m.pp, m.batch, m.prompt_tokens, m.output_tokens, m.engine,
        metric_cells(m.has_ttft, m.ttft_ms, p.predicted_ms, p.error),
        metric_cells(p.tpot_error.has_value(), m.tpot_ms.value_or(0),
                     p.predicted_tpot_ms.value_or(0), p.tpot_error.value_or(0)));
  }
  return out;
}

}  // namespace

Json to_json(const Comparison& c, const GateResult& gates) {
  Json points = Json::array();
  for (const auto& p : c.points) points.push_back(point_json(p));
  const Aggregates& a = c.aggregates;
  Json aggregates{{"points", a.points},         {"mape", a.mape},
                  {"median_ape", a.median_ape}, {"bias", a.bias},
                  {"worst", a.worst},           {"worst_entry", a.worst_entry}};
  if (a.tpot) aggregates["tpot"] = to_json(*a.tpot);
  for (const Distribution& d : a.distributions) {
    aggregates[d.metric + "_ms"] = {{"measured", to_json(d.measured)},
                                    {"predicted", to_json(d.predicted)}};
  }
  return Json{{"aggregates", aggregates},
              {"method", c.method},
              {"warnings", c.warnings},
              {"gates",
               {{"checked", gates.checked},
                {"verdict", verdict(gates)},
                {"checks", gates.checks},
                {"passed", gates.passed},
                {"failures", gates.failures}}},
              {"points", points}};
}

namespace {

// The TTFT points, worst first (at most 20), and their summary line.
std::string ttft_table(const Comparison& c) {
  const std::vector<const ComparedPoint*> order = worst_first(c, false);
  const std::size_t shown = std::min<std::size_t>(order.size(), 20);
  std::vector<std::string> entries;
  std::size_t width = 20;  // the entry column fits the longest shown, up to 72 characters
  for (std::size_t i = 0; i < shown; ++i) {
    const MeasuredPoint& m = order[i]->measured;
    std::string entry = m.settings.empty() ? m.entry : describe_sweep_point(m);
    if (entry.size() > 72) entry = "..." + entry.substr(entry.size() - 69);
    width = std::max(width, entry.size());
    entries.push_back(std::move(entry));
  }
  std::string out = fmt::format("  {:<{}} {:>7} {:>11} {:>12} {:>8}\n", "entry (worst first)",
                                width, "prompt", "measured ms", "predicted ms", "error");
  for (std::size_t i = 0; i < shown; ++i) {
    const ComparedPoint& p = *order[i];
    out += fmt::format("  {:<{}} {:>7} {:>11.3f} {:>12.3f} {:>+7.2f}%\n", entries[i], width,
                       p.measured.prompt_tokens, p.measured.ttft_ms, p.predicted_ms,
                       100 * p.error);
  }
  if (order.size() > 20) out += fmt::format("  ... and {} more points\n", order.size() - 20);
  const Aggregates& a = c.aggregates;
  out += fmt::format("  {} points: TTFT mean abs error {:.2f}%, median {:.2f}%, bias {:+.2f}%, "
                     "worst {:.2f}%\n",
                     a.points, 100 * a.mape, 100 * a.median_ape, 100 * a.bias, 100 * a.worst);
  return out;
}

}  // namespace

std::string to_table(const Comparison& c) {
  const Aggregates& a = c.aggregates;
  // Rows that measured only TPOT have no TTFT to list.
  std::string out = a.points > 0 || !a.tpot ? ttft_table(c) : std::string();
  if (a.tpot) out += tpot_table(c);
  out += fmt::format("  {:<9} {:<9} {:>10} {:>10} {:>10} {:>10}\n", "", "", "mean", "p50", "p90",
                     "p99");
  for (const Distribution& d : a.distributions) {
    if (d.measured.count == 0) continue;  // no TTFT measured
    for (const auto& [side, q] :
         {std::pair{"measured", &d.measured}, {"predicted", &d.predicted}}) {
      out += fmt::format("  {:<9} {:<9} {:>10.3f} {:>10.3f} {:>10.3f} {:>10.3f}\n",
                         side[0] == 'm' ? title(d.metric) : "", side, q->mean, q->p50, q->p90,
                         q->p99);
    }
  }
  return out;
}

std::string to_markdown(const Comparison& c, const GateResult& gates) {
  const Aggregates& a = c.aggregates;
  const std::string status = !gates.checked ? "NOT GATED" : gates.passed ? "PASS" : "FAIL";
  std::string out = fmt::format(
      "## Predicted against measured\n\n**{}** — {} points, TTFT mean absolute error {:.2f}%, "
      "median {:.2f}%, bias {:+.2f}%, worst {:.2f}% ({})\n\n",
      status, a.points, 100 * a.mape, 100 * a.median_ape, 100 * a.bias, 100 * a.worst,
      a.worst_entry);
  if (a.tpot) {
    out += fmt::format("TPOT: {} points, mean absolute error {:.2f}%, median {:.2f}%, bias "
                       "{:+.2f}%, worst {:.2f}% ({})\n\n",
                       a.tpot->points, 100 * a.tpot->mape, 100 * a.tpot->median_ape,
                       100 * a.tpot->bias, 100 * a.tpot->worst, a.tpot->worst_entry);
  }
  if (!gates.checked) out += "- " + verdict(gates) + "\n";
  for (const auto& f : gates.failures) out += "- " + f + "\n";
  for (const auto& w : c.warnings) out += "- warning: " + w + "\n";
  out += fmt::format("\nPredicted by: {}\n\n| ms | mean | p50 | p90 | p99 |\n"
                     "|---|---|---|---|---|\n",
                     c.method);
  for (const Distribution& d : a.distributions) {
    for (const auto& [side, q] :
         {std::pair{"measured", &d.measured}, {"predicted", &d.predicted}}) {
      out += fmt::format("| {} {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |\n", d.metric, side,
                         q->mean, q->p50, q->p90, q->p99);
    }
  }
  out += "\n";
  const bool sweep = !c.points.empty() && !c.points.front().measured.settings.empty();
  if (sweep) {
    out += "| entry | sweep point and strategy | measured ms | predicted ms | error |\n"
           "|---|---|---|---|---|\n";
  } else if (a.tpot) {
    return out + tpot_markdown_rows(c);
  } else {
    out += "| entry | model | GPU | TP | batch | prompt | measured ms | predicted ms | error |\n"
           "|---|---|---|---|---|---|---|---|---|\n";
  }
  for (const auto& p : c.points) {
    const MeasuredPoint& m = p.measured;
    const std::string where =
        sweep ? describe_sweep_point(m)
              : fmt::format("{} | {} | {} | {} | {}", m.model, m.gpu, m.tp, m.batch,
                            m.prompt_tokens);
    out += fmt::format("| {} | {} | {:.3f} | {:.3f} | {:+.2f}% |\n", m.entry, where, m.ttft_ms,
                       p.predicted_ms, 100 * p.error);
  }
  return out;
}

}  // namespace kvsim::compare
