#pragma once
// kvsim's commands as functions: what `kvsim run|serve|sweep|search` compute, before anything
// is printed or written. Who calls it: the command line (tools/kvsim), which renders and writes
// these results, and the Python module (tools/python), which returns them as dicts and lists;
// both therefore see the same numbers from the same code.
//
// Inputs are documents with any --set overrides already applied (read_document). Every function
// throws InputError on bad input and holds no state after it returns. JSON results are exactly
// what the command writes (results.json, summary.json, search.json: the units are in the field
// names); tables are the CSV files' rows.

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/table.hpp"
#include "sim/prefill/search.hpp"
#include "sim/report/breakdown.hpp"
#include "sim/report/cost_explanation.hpp"
#include "sim/report/serving_trace.hpp"
#include "sim/scenario/prefill_memory.hpp"
#include "sim/serving/decode_step.hpp"
#include "sim/serving/engine.hpp"
#include "sim/serving/speculative/spec_step.hpp"
#include "sim/sweep/sweep.hpp"

namespace kvsim::api {

/// A scenario or sweep file with "/pointer=value" overrides applied in order, as --set applies
/// them (overrides.hpp: a field the format allows may be added).
ConfigDocument read_document(const std::string& path, const std::vector<std::string>& overrides);
/// Reads a scenario document; under `strict` its warnings are an InputError.
Scenario read_scenario(const ConfigDocument& doc, bool strict);
/// Under `strict` (--strict), throws InputError naming the warnings of `s`; else does nothing.
void refuse_warnings_if_strict(const Scenario& s, bool strict);

// ---- kvsim run: the single-GPU breakdown, the decode step, the prefill strategies.
struct RunRequest {
  bool strict = false;
  bool trace = false;          // record the prefill runs' events (for trace.json)
  bool explain_costs = false;  // adds cost_explanation
};
struct RunOutcome {
  explicit RunOutcome(Scenario s) : scenario(std::move(s)) {}
  Scenario scenario;  // its warnings include the run's (a drafter's memory)
  std::vector<report::PassBreakdown> passes;
  std::optional<serving::DecodeStep> step;
  std::optional<serving::speculative::SpeculativeStep> speculative;
  Json drafter;  // the decode section's drafter, when speculative
  std::vector<CheckedPrefill> runs;
  std::vector<prefill::PrefillResult> strategies;
  std::optional<report::CostExplanation> explanation;
  Json results;  // results.json
};
RunOutcome run(const ConfigDocument& doc, const RunRequest& request);

// ---- kvsim serve: the serving simulation of the scenario's "serving" section.
/// Called once the scenario and its serving section are checked, before the simulation: the
/// observers to attach (the command line opens its output files here, never for bad input).
using ObserversFor =
    std::function<serving::ServingObservers(const Scenario&, const serving::Workload&)>;
struct ServeOutcome {
  explicit ServeOutcome(Scenario s) : scenario(std::move(s)) {}
  Scenario scenario;
  Json summary;  // summary.json
};
struct ServeRequest {
  bool strict = false;
  bool save_detailed = false;  // vllm_bench's per-request arrays (vllm_bench.hpp)
};
ServeOutcome serve(const ConfigDocument& doc, const ServeRequest& request,
                   const ObserversFor& observers);
/// serve's trace bounds (report/serving_trace.hpp): --trace-window, --trace-requests and
/// --trace-limit on the command line, trace_window, trace_requests and trace_limit in Python.
struct TraceOptions {
  std::string window;          // "START:END", seconds of simulated time; empty: the whole run
  std::uint64_t requests = 0;  // most request slices (every k-th id); 0: every request
  std::string limit = "1GiB";  // a trace growing past this size is refused
};
/// The bounds `options` give; throws InputError naming the --trace-* option that is wrong.
report::ServingTraceBounds trace_bounds(const TraceOptions& options);
/// requests.csv and timeline.csv: the header, and one row (with its newline) per record.
extern const char* const kRequestsHeader;
std::string request_row(const serving::RequestRecord& q);
extern const char* const kTimelineHeader;
std::string timeline_row(const serving::TimelineSample& t);

// ---- kvsim sweep: every point, in point order (the table is the same for any thread count).
struct SweepOutcome {
  Table table;   // sweep.csv
  Json summary;  // summary.json
};
SweepOutcome sweep(const sweep::SweepSpec& spec, bool strict,
                   const std::function<void(std::size_t done)>& progress);

// ---- kvsim search: KVR-S for the scenario's prefill point, with KVR-E and TSP beside it.
struct SearchRequest {
  bool strict = false;
  prefill::SearchOptions search;
  bool landscape = false;               // also every grid partition (2-3 GPUs)
  std::int64_t landscape_limit = 200000;  // most grid points; refused above, before enumerating
};
/// The largest landscape_limit: ten million points of about 150 bytes each (a few GB).
inline constexpr std::int64_t kMaxLandscape = 10'000'000;
struct SearchOutcome {
  explicit SearchOutcome(Scenario s) : scenario(std::move(s)) {}
  Scenario scenario;
  prefill::SearchResult search;
  prefill::Partition even;
  Duration even_ttft{0};
  bool even_fits = true;  // KVR-E's own plan fits in memory
  Duration tsp_ttft{0};
  double wall_s = 0;  // the search's wall-clock time
  std::vector<prefill::SearchEvaluation> landscape;
  int processes = 0;  // the chain's length (GPUs, or TP groups)
  Json json;          // search.json
  bool even_won() const { return search.best == even; }
};
SearchOutcome search(const ConfigDocument& doc, const SearchRequest& request);
/// search_trace.csv and landscape.csv: one row per candidate.
std::string evaluations_csv(const std::vector<prefill::SearchEvaluation>& rows, int processes);

// ---- for the Python module: tables as columns (a dict of lists, ready for pandas).
/// Each column's cells as JSON, in the table's column order: a number where the whole cell is
/// one, null where empty, else the text.
nlohmann::ordered_json columns(const Table& table);

}  // namespace kvsim::api
