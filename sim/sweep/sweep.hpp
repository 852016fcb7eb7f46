#pragma once
// A sweep: one base scenario and the axes along which copies of it vary.
//
//   {
//     "name": "llama-context",
//     "base": "../scenarios/paper/llama-2-7b-8xa100-300GBps.json",  // relative to this file
//     "seed": 1,                                   // for sampled axes
//     "set": { "/prefill/attention": "fused" },    // applied to every point
//     "axes": [
//       { "name": "context", "pointer": "/prefill/context_tokens", "values": [1024, 2048] },
//       { "zip": [ { "name": "gpus", "pointer": "/cluster/topology/gpus", "values": [2, 4] },
//                  { "name": "bw", "pointer": "/cluster/topology/link/bandwidth",
//                    "values": ["10GB/s", "300GB/s"] } ] },
//       { "sample": 20, "vary": [ { "name": "bw", "pointer": "/cluster/topology/link/bandwidth",
//                                   "distribution": "log-uniform", "min": 5, "max": 300,
//                                   "unit": "GB/s" } ] }
//     ],
//     "outputs": ["ttft_ms", "speedup"],
//     "baseline": "tsp"
//   }
//
// Axes combine as a grid product, the first axis varying slowest. A plain axis sets one
// pointer; a "zip" axis sets several pointers together, element by element; a "sample" axis
// draws its settings from the sweep's seed and the axis's position. A member may give "labels"
// (one per value) to show in the CSV instead of the value: useful when the values are whole
// objects, such as a topology. Pointers may name fields
// the base does not have yet (the scenario loader then checks them like any other field).
//
// A point runs the scenario's prefill strategies (columns <strategy>.<output>) and, when the
// scenario has a "serving" section, the serving simulation (columns serve.<metric>: TTFT, TPOT,
// inter-token, end-to-end and queueing mean/p50/p90/p99 in ms, throughputs, goodput, KV
// utilisation and waste, GPU busy fraction, preemptions): latency against load, say.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/table.hpp"

namespace kvsim::sweep {

/// One value a point gives: the column name, the pointer it sets, the value.
struct Setting {
  std::string name;
  Json::json_pointer pointer;
  Json value;
  std::string label;  // what the CSV shows; empty: the value itself

  std::string text() const;
};

struct Axis {
  std::vector<std::vector<Setting>> settings;  // one list per position along the axis
};

struct SweepSpec {
  std::string name;
  std::string file;
  Json base;                  // the base scenario with "set" applied
  std::string base_file;      // for messages
  std::vector<Axis> axes;
  std::vector<std::string> columns;  // input column names, in axis order
  std::vector<std::string> outputs;
  std::string baseline;
  Json resolved;              // the sweep as read, settings expanded
  std::uint64_t input_hash = 0;  // stable_hash of the sweep (overrides applied) and its base

  std::size_t point_count() const;
  /// The settings of point `index` (0 <= index < point_count()), in column order.
  std::vector<Setting> settings(std::size_t index) const;
  /// The scenario document of a point; its name says which sweep point it is.
  ConfigDocument document(std::size_t index) const;
};

/// Reads a sweep file; throws InputError naming the file and pointer.
SweepSpec load_sweep(const ConfigDocument& document);

/// The outputs a sweep can collect per strategy, with their meaning.
const std::vector<std::pair<std::string, std::string>>& output_docs();

/// Runs `body(index)` for every point in parallel (oneTBB). Reports progress after each point.
/// When points throw, the exception of the lowest failing index is rethrown after all finish,
/// so errors are the same for any thread count.
void for_each_point(std::size_t count, const std::function<void(std::size_t)>& body,
                    const std::function<void(std::size_t done)>& progress);

/// One point's outputs and warnings (what run_sweep collects per point) as one string, the unit
/// a distributed run (sim/distributed) gathers; throws as run_sweep does.
std::string evaluate_point(const SweepSpec& spec, std::size_t index, bool strict);

/// The table of every point's evaluate_point result, given in point order.
Table assemble_table(const SweepSpec& spec, const std::vector<std::string>& points);

/// Runs every point's prefill strategies and collects the requested outputs, one row per point.
/// A point whose scenario warns adds a last column "warnings" (the point's warnings, joined by
/// "; "); with `strict` such a point is an InputError instead.
Table run_sweep(const SweepSpec& spec, const std::function<void(std::size_t done)>& progress,
                bool strict = false);

/// Min, mean and max of each numeric output column, the best point of each TTFT column, and
/// (when the table has a "warnings" column) each point's warnings.
Json summarize(const SweepSpec& spec, const Table& table);

}  // namespace kvsim::sweep
