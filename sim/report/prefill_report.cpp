#include "sim/report/prefill_report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/table.hpp"
#include "sim/core/units.hpp"
#include "sim/report/warnings_column.hpp"

namespace kvsim::report {
namespace {

const prefill::PrefillResult* find(const std::vector<prefill::PrefillResult>& results,
                                   const std::string& label) {
  for (const auto& r : results) {
    if (r.label == label) return &r;
  }
  return nullptr;
}

double total_link_bytes(const prefill::PrefillResult& r) {
  double t = 0;
  for (const double b : r.link_bytes) t += b;
  return t;
}

std::string ratio(const prefill::PrefillResult* base, const prefill::PrefillResult& r) {
  if (base == nullptr || r.ttft.count() == 0) return "-";
  return fmt::format("{:.2f}x", static_cast<double>(base->ttft.count()) /
                                    static_cast<double>(r.ttft.count()));
}

}  // namespace

std::string format_prefill_table(const std::vector<prefill::PrefillResult>& results) {
  const auto* single = find(results, "single");
  const auto* tsp = find(results, "tsp");
  std::string out = fmt::format("  {:<14} {:>11} {:>9} {:>7} {:>7} {:>7} {:>13} {:>11}  {}\n",
                                "strategy", "TTFT ms", "vs single", "vs tsp", "busy", "wait",
                                "crit comp/comm", "link bytes", "partition");
  for (const auto& r : results) {
    // Summed in double (ns): each GPU's time fits an int64, but their sum over GPUs need not
    // (a prefill of centuries on a 1 B/s link printed a negative wait).
    double busy = 0;
    double wait = 0;
    for (const auto& g : r.gpus) {
      busy += static_cast<double>(g.busy.count());
      wait += static_cast<double>(g.waiting.count());
    }
    const double denom = static_cast<double>(r.ttft.count()) * static_cast<double>(r.gpus.size());
    std::string partition;
    for (std::size_t i = 0; i < r.partition.size() && r.label.rfind("kvr", 0) == 0; ++i) {
      partition += fmt::format("{}{}", i ? "/" : "", r.partition[i]);
    }
    out += fmt::format(
        "  {:<14} {:>11.3f} {:>9} {:>7} {:>6.1f}% {:>6.1f}% {:>6.0f}%/{:>4.0f}% {:>11}  {}\n",
        r.label, to_ms(r.ttft), ratio(single, r), ratio(tsp, r),
        100.0 * busy / denom, 100.0 * wait / denom,
        100.0 * static_cast<double>(r.critical_compute.count()) /
            static_cast<double>(r.ttft.count()),
        100.0 * static_cast<double>(r.critical_communication.count()) /
            static_cast<double>(r.ttft.count()),
        format_bytes(total_link_bytes(r)), partition);
  }
  return out;
}

Json prefill_json(const std::vector<prefill::PrefillResult>& results,
                  const net::Topology& topology) {
  Json out = Json::array();
  const auto* single = find(results, "single");
  const auto* tsp = find(results, "tsp");
  for (const auto& r : results) {
    Json gpus = Json::array();
    for (const auto& g : r.gpus) {
      gpus.push_back({{"busy_ns", g.busy.count()},
                      {"waiting_ns", g.waiting.count()},
                      {"idle_ns", g.idle.count()}});
    }
    Json links = Json::array();
    for (std::size_t l = 0; l < r.link_bytes.size(); ++l) {
      if (r.link_bytes[l] <= 0) continue;
      const net::Link& link = topology.link(static_cast<int>(l));
      links.push_back({{"from", topology.node(link.from).name},
                       {"to", topology.node(link.to).name},
                       {"bytes", r.link_bytes[l]}});
    }
    Json entry{{"strategy", r.label},
               {"ttft_ns", r.ttft.count()},
               {"ttft_ms", to_ms(r.ttft)},
               {"critical_compute_ns", r.critical_compute.count()},
               {"critical_communication_ns", r.critical_communication.count()},
               {"partition", r.partition},
               {"events", r.events},
               {"gpus", gpus},
               {"links", links}};
    if (single != nullptr) {
      entry["speedup_over_single"] = static_cast<double>(single->ttft.count()) /
                                     static_cast<double>(r.ttft.count());
    }
    if (tsp != nullptr) {
      entry["speedup_over_tsp"] = static_cast<double>(tsp->ttft.count()) /
                                  static_cast<double>(r.ttft.count());
    }
    out.push_back(entry);
  }
  return out;
}

std::string prefill_csv(const std::vector<prefill::PrefillResult>& results,
                        const std::vector<std::string>& warnings) {
  Table table;
  table.columns = {"strategy",           "ttft_ns",    "critical_compute_ns",
                   "critical_communication_ns", "link_bytes", "partition"};
  for (const auto& r : results) {
    table.rows.push_back({r.label, fmt::format("{}", r.ttft.count()),
                          fmt::format("{}", r.critical_compute.count()),
                          fmt::format("{}", r.critical_communication.count()),
                          fmt::format("{}", total_link_bytes(r)),
                          fmt::format("{}", fmt::join(r.partition, " "))});
  }
  add_warnings_column(table, warnings);
  return table.csv();
}

}  // namespace kvsim::report
