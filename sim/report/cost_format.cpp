// `kvsim cost`'s output: the human table (stdout) and the JSON (`--json`).
#include <fmt/format.h>

#include "sim/core/units.hpp"
#include "sim/report/cost_query.hpp"

namespace kvsim::report {
namespace {

double rate(double amount, double seconds) { return seconds > 0 ? amount / seconds : 0.0; }

}  // namespace

std::string format_cost(const CostReport& r) {
  std::string out = fmt::format("kvsim cost {}: {}\npriced by: {}\n", r.command, r.what,
                                r.priced_by);
  out += fmt::format("  {:<16} {:>40} {:>6} {:>11} {:>11} {:>12} {:>9} {:>9}  {}\n", "op",
                     "shape", "calls", "GFLOP", "bytes", "time us", "TFLOP/s", "GB/s", "source");
  for (const CostLine& l : r.lines) {
    out += fmt::format("  {:<16} {:>40} {:>6} {:>11.3f} {:>11} {:>12.3f} {:>9.1f} {:>9.1f}  {}\n",
                       l.op, l.shape, l.calls, l.flops * 1e-9, format_bytes(l.bytes),
                       l.seconds * 1e6, rate(l.flops, l.seconds) * 1e-12,
                       rate(l.bytes, l.seconds) * 1e-9, l.source);
  }
  out += fmt::format("  {:<16} {:>40} {:>6} {:>11} {:>11} {:>12.3f}\n", "total", "", "", "", "",
                     r.seconds * 1e6);
  for (const std::string& n : r.notes) out += fmt::format("  {}\n", n);
  for (const std::string& w : r.warnings) out += fmt::format("  warning: {}\n", w);
  return out;
}

Json cost_json(const CostReport& r) {
  Json lines = Json::array();
  for (const CostLine& l : r.lines) {
    lines.push_back(Json{{"op", l.op},
                         {"shape", l.shape},
                         {"calls", l.calls},
                         {"flops", l.flops},
                         {"bytes", l.bytes},
                         {"seconds", l.seconds},
                         {"flop_per_second", rate(l.flops, l.seconds)},
                         {"bytes_per_second", rate(l.bytes, l.seconds)},
                         {"source", l.source}});
  }
  return Json{{"command", r.command}, {"what", r.what},   {"priced_by", r.priced_by},
              {"seconds", r.seconds}, {"lines", lines}, {"notes", r.notes},
              {"warnings", r.warnings}};
}

}  // namespace kvsim::report
