// Running a sweep's points in parallel and collecting one CSV row per point (sweep files are
// read in sweep_spec.cpp).
#include "sim/sweep/sweep.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>

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

bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace

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
      const std::string name = fmt::format("{}_{}_ms", metric, stat);
      const Json& v = j[metric][std::string(stat) + "_s"];
      // Undefined (no sample, e.g. TPOT of one-token outputs): an empty cell, not 0.
      if (v.is_null()) {
        out.emplace_back("serve." + name, "");
      } else {
        add(name, 1e3 * v.get<double>());
      }
    }
  }
  for (const char* metric : {"request_throughput", "output_throughput", "goodput",
                             "kv_utilization", "kv_waste", "gpu_busy_fraction"}) {
    add(metric, j[metric].get<double>());
  }
  out.emplace_back("serve.preemptions", fmt::format("{}", j["preemptions"].get<std::uint64_t>()));
  // Requests not served as asked (longer than the context; truncated to max_tokens).
  for (const char* count : {"rejected", "truncated"}) {
    out.emplace_back(fmt::format("serve.{}", count), fmt::format("{}", j[count].get<std::uint64_t>()));
  }
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

std::string evaluate_point(const SweepSpec& spec, std::size_t index, bool strict) {
  std::vector<std::string> warnings;
  const PointOutputs outputs = run_point(spec, index, strict, warnings);
  const Json point{{"outputs", outputs}, {"warnings", warnings}};
  // Invalid UTF-8 (a file name in a warning, say) is replaced, not thrown on: the same in every
  // run, however it is split.
  return point.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Table assemble_table(const SweepSpec& spec, const std::vector<std::string>& points) {
  const std::size_t n = spec.point_count();
  std::vector<PointOutputs> outputs(n);
  std::vector<std::vector<std::string>> warnings(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Json point = Json::parse(points.at(i));
    outputs[i] = point.at("outputs").get<PointOutputs>();
    warnings[i] = point.at("warnings").get<std::vector<std::string>>();
  }

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

Table run_sweep(const SweepSpec& spec, const std::function<void(std::size_t done)>& progress,
                bool strict) {
  std::vector<std::string> points(spec.point_count());
  for_each_point(
      points.size(), [&](std::size_t i) { points[i] = evaluate_point(spec, i, strict); },
      progress);
  return assemble_table(spec, points);
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
